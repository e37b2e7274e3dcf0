import { $, acceptPhoto, clearError, el, getBlob, guarded, keyForm, postImage, postJson, row } from './api.js';

let specs = [];
let job = null;
let result = null;

const spec = () => specs.find((s) => s.code === $('#spec').value);

async function loadSpecs() {
  specs = await (await fetch('specs.json')).json();
  $('#spec').replaceChildren(...specs.map((s) => el('option', `${s.label} (${s.code})`, { value: s.code })));
  $('#spec').value = 'us-passport';
  describeSpec();
}

function describeSpec() {
  const s = spec();
  const band = (b) => (b ? `${b.min}–${b.max} mm` : 'not set');
  $('#spec-summary').textContent = `${s.widthMm} × ${s.heightMm} mm · head ${band(s.headHeightMm)} · eyes ${band(s.eyeLineFromBottomMm)} from the bottom · background ${s.background.default}${s.background.editingAllowed ? '' : ' (the rule forbids editing it: kept)'}`;
  // a spec that forbids editing the background takes only "keep"
  for (const option of $('#background').options) option.disabled = !s.background.editingAllowed && option.value !== 'keep';
  if (!s.background.editingAllowed) $('#background').value = 'keep';
}

async function analyze(file) {
  job = null;
  const analysis = JSON.parse(await postImage('/api/v1/tools/passport-photo/analyze', file, undefined, 'file'));
  job = analysis;
  $('#analysis').textContent = `${analysis.imageWidth} × ${analysis.imageHeight} px photo, face found`;
  // decoded here: the CSP lets the page fetch only from its own origin, not data: URLs
  const png = Uint8Array.from(atob(analysis.preview), (char) => char.charCodeAt(0));
  const image = await createImageBitmap(new Blob([png], { type: 'image/png' }));
  const canvas = $('#source');
  canvas.width = image.width;
  canvas.height = image.height;
  const g = canvas.getContext('2d');
  g.drawImage(image, 0, 0);
  g.fillStyle = '#ff1744';
  const { leftEye, rightEye, chin, crown } = analysis.landmarks;
  for (const point of [leftEye, rightEye, chin, crown]) {
    g.beginPath();
    g.arc(point.x * canvas.width, point.y * canvas.height, Math.max(3, canvas.width / 150), 0, 2 * Math.PI);
    g.fill();
  }
  await generate();
}

function backgroundChoice() {
  const choice = $('#background').value;
  if (choice === 'keep') return { keepBackground: true };
  return { bgColor: choice === 'spec' ? spec().background.default : choice };
}

async function generate() {
  if (!job) throw new Error('drop a photo first');
  const s = spec();
  result = JSON.parse(
    await postJson('/api/v1/tools/passport-photo/generate', {
      jobId: job.jobId,
      filename: job.filename,
      countryCode: s.countryCode,
      documentType: s.documentType,
      ...backgroundChoice(),
      printLayout: $('#layout').value,
      zoom: Number($('#zoom').value),
      adjustX: Number($('#adjust-x').value),
      adjustY: Number($('#adjust-y').value),
      landmarks: job.landmarks,
      imageWidth: job.imageWidth,
      imageHeight: job.imageHeight,
    }),
  );
  const photo = await getBlob(result.downloadUrl);
  const { dimensions, measured, issues } = result;
  $('#result-summary').textContent = `${result.spec.documentLabel}: ${dimensions.widthMm} × ${dimensions.heightMm} mm, ${dimensions.widthPx} × ${dimensions.heightPx} px at ${dimensions.dpi} dpi${issues.length ? ` · issues: ${issues.join(', ')}` : ' · no issues'}`;
  const rows = [];
  if (measured?.headHeightMm) rows.push(measureRow('head height (chin to crown)', measured.headHeightMm));
  if (measured?.eyeLineFromBottomMm) rows.push(measureRow('eye line from the bottom', measured.eyeLineFromBottomMm));
  $('#measured').replaceChildren(...rows);
  await drawResult(photo, dimensions);
  const links = [link(result.downloadUrl, 'Download photo')];
  if (result.printDownloadUrl) links.push(link(result.printDownloadUrl, `Download print sheet (${$('#layout').value})`));
  $('#downloads').replaceChildren(...links.flatMap((a) => [a, ' ']));
}

function measureRow(name, band) {
  const tr = row([name, `${band.min}–${band.max} mm`, `${band.measured.toFixed(1)} mm`, band.inside ? 'yes' : 'NO']);
  tr.className = band.inside ? '' : 'bad';
  return tr;
}

/** A download button: the file is fetched with the key, then saved from a blob URL. */
function link(path, label) {
  const button = el('button', label, { type: 'button' });
  button.addEventListener('click', () =>
    guarded(async () => {
      const url = URL.createObjectURL(await getBlob(path));
      const a = el('a', '', { href: url, download: path.split('/').pop() });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }),
  );
  return button;
}

/**
 * The bands on the generated photo: the eye band is fixed in the frame (mm from the bottom); the head
 * band is where the top of the head may lie given the chin, which the photo check finds in this photo.
 */
async function drawResult(photo, dimensions) {
  const image = await createImageBitmap(photo);
  const canvas = $('#result');
  canvas.width = image.width;
  canvas.height = image.height;
  const g = canvas.getContext('2d');
  g.drawImage(image, 0, 0);
  const s = spec();
  const px = (mm) => (mm / dimensions.heightMm) * canvas.height;
  const band = (top, bottom, colour) => {
    g.fillStyle = colour;
    g.fillRect(0, top, canvas.width, bottom - top);
  };
  if (s.eyeLineFromBottomMm) band(canvas.height - px(s.eyeLineFromBottomMm.max), canvas.height - px(s.eyeLineFromBottomMm.min), 'rgba(0, 200, 83, 0.30)');
  const check = JSON.parse(await postImage('/api/v1/photo/check', new File([photo], 'generated.jpg', { type: 'image/jpeg' }), { profile: 'icao' }));
  const chin = check.face?.chin;
  if (!chin || !s.headHeightMm) return;
  band(chin.y - px(s.headHeightMm.max), chin.y - px(s.headHeightMm.min), 'rgba(41, 121, 255, 0.30)');
  g.fillStyle = '#ff1744';
  g.fillRect(0, chin.y - 1, canvas.width, Math.max(2, canvas.height / 300));
}

const bindOutput = (input, output, digits) => $(input).addEventListener('input', () => ($(output).textContent = Number($(input).value).toFixed(digits)));
bindOutput('#zoom', '#zoom-value', 2);
bindOutput('#adjust-x', '#adjust-x-value', 1);
bindOutput('#adjust-y', '#adjust-y-value', 1);
$('#spec').addEventListener('change', describeSpec);
$('#generate-form').addEventListener('submit', (event) => (event.preventDefault(), guarded(generate)));
acceptPhoto($('#drop'), $('#file'), (file) => guarded(() => analyze(file)));
keyForm(clearError);
guarded(loadSpecs);

