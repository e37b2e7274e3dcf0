import { $, acceptPhoto, clearError, guarded, keyForm, parseXml, postImage, row } from './api.js';

let photo = null;

function requirePhoto() {
  if (!photo) throw new Error('drop a photo first');
  return photo;
}

async function choose(file) {
  photo = file;
  const bitmap = await createImageBitmap(file).catch(() => null);
  const canvas = $('#preview');
  if (bitmap) {
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
  }
  await check(bitmap);
}

/** The box and landmarks are in the photo as judged (turned upright): drawn over the upright photo. */
async function check(bitmap) {
  const result = JSON.parse(await postImage('/api/v1/photo/check', requirePhoto(), { profile: $('#profile').value }));
  $('#verdict').textContent = result.compliant ? `compliant with ${result.profile}` : `not compliant with ${result.profile}: ${result.issues.join(', ')}`;
  $('#verdict').className = result.compliant ? 'ok' : 'bad';
  $('#checks').replaceChildren(
    ...result.checks.map((c) => {
      const tr = row([c.code, c.passed ? 'yes' : 'no', typeof c.value === 'number' ? c.value.toFixed(3) : c.value, Array.isArray(c.threshold) ? c.threshold.join('–') : c.threshold, c.message]);
      tr.className = c.passed ? '' : 'bad';
      return tr;
    }),
  );
  const face = result.face;
  $('#face-summary').textContent = face
    ? `face ${Math.round(face.box.x2 - face.box.x1)}×${Math.round(face.box.y2 - face.box.y1)} px, detector score ${face.box.score.toFixed(3)}, yaw ${face.yaw.toFixed(1)}°, pitch ${face.pitch.toFixed(1)}°, roll ${face.roll.toFixed(1)}°`
    : 'no face found';
  if (!face || !bitmap) return;
  const canvas = $('#preview');
  if (result.image && (result.image.width !== canvas.width || result.image.height !== canvas.height)) {
    // a sideways photo was judged upright: draw the marks on a canvas of the judged size
    canvas.width = result.image.width;
    canvas.height = result.image.height;
    const g = canvas.getContext('2d');
    g.save();
    g.translate(canvas.width / 2, canvas.height / 2);
    g.rotate(((result.image.quarter_turns ?? 0) * Math.PI) / 2);
    g.drawImage(bitmap, -bitmap.width / 2, -bitmap.height / 2);
    g.restore();
  }
  const g = canvas.getContext('2d');
  const line = Math.max(2, canvas.width / 250);
  g.lineWidth = line;
  g.strokeStyle = '#00e676';
  g.strokeRect(face.box.x1, face.box.y1, face.box.x2 - face.box.x1, face.box.y2 - face.box.y1);
  g.fillStyle = '#ff1744';
  for (const point of [...face.eyes, face.chin, face.crown].filter(Boolean)) {
    g.beginPath();
    g.arc(point.x, point.y, line * 2.5, 0, 2 * Math.PI);
    g.fill();
  }
}

async function search() {
  const threshold = Number($('#search-threshold').value);
  const xml = parseXml(await postImage('/api/v1/search', requirePhoto(), { partition: $('#search-partition').value.trim(), top_k: 5, threshold }));
  const candidates = [...xml.querySelectorAll('candidate')];
  $('#search-summary').textContent = `${candidates.length} candidate(s) at or above ${threshold} (the partition minimum may raise it) · quality ${xml.querySelector('quality_score')?.textContent} · faces ${xml.querySelector('face_count')?.textContent}`;
  $('#candidates').replaceChildren(
    ...candidates.map((c) => {
      const score = Number(c.querySelector('score').textContent);
      return row([c.querySelector('rank').textContent, c.querySelector('subject_id').textContent, score.toFixed(4), `${score >= threshold ? '≥' : '<'} ${threshold}`]);
    }),
  );
}

function subjectMetadata() {
  return { subject_id: $('#subject-id').value, partition: $('#subject-partition').value.trim() };
}

async function verify() {
  const xml = parseXml(await postImage('/api/v1/verify', requirePhoto(), subjectMetadata()));
  const match = xml.querySelector('match')?.textContent === 'true';
  $('#subject-result').textContent = `${match ? 'match' : 'no match'}: score ${Number(xml.querySelector('score')?.textContent).toFixed(4)} for ${xml.querySelector('subject_id')?.textContent}`;
  $('#subject-result').className = match ? 'ok' : 'bad';
}

async function enrol() {
  const xml = parseXml(await postImage('/api/v1/enrol', requirePhoto(), subjectMetadata()));
  const duplicate = xml.querySelector('duplicate_of > subject_id')?.textContent;
  $('#subject-result').textContent = `enrolled ${xml.querySelector('subject_id')?.textContent}, quality ${xml.querySelector('quality_score')?.textContent}${duplicate ? `, duplicate of ${duplicate}` : ''}`;
  $('#subject-result').className = 'ok';
}

acceptPhoto($('#drop'), $('#file'), (file) => guarded(() => choose(file)));
$('#profile').addEventListener('change', () => photo && guarded(async () => check(await createImageBitmap(photo))));
$('#search-form').addEventListener('submit', (event) => (event.preventDefault(), guarded(search)));
$('#verify-form').addEventListener('submit', (event) => (event.preventDefault(), guarded(verify)));
$('#enrol').addEventListener('click', () => guarded(enrol));
// a new key makes the last refusal stale
keyForm(clearError);

