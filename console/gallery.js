import { $, apiKey, el, getJson, guarded, keyForm, postJson, row } from './api.js';

const PAGE_SIZE = 25;
const state = { partition: 'default', page: 1, total: 0, subjects: [], subject: null };
const fixed = (value, digits = 3) => (typeof value === 'number' ? value.toFixed(digits) : value);

// read directly rather than through getJson: a 503 still carries the components that are down
async function loadHealth() {
  const response = await fetch('/api/v1/health', { headers: apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {} });
  const body = await response.json();
  $('#health-status').textContent = body.status ?? `${body.code} — ${body.message}`;
  $('#health-status').className = body.status === 'healthy' ? 'ok' : 'bad';
  $('#components').replaceChildren(...Object.entries(body.components ?? {}).map(([name, up]) => row([name, up ? 'yes' : 'NO'])));
  $('#stages').replaceChildren(...Object.entries(body.stages ?? {}).map(([name, value]) => row([name, value])));
}

async function loadPartitions() {
  const stats = await getJson('/api/v1/stats');
  const names = Object.keys(stats.partitions);
  if (!names.includes(state.partition) && names.length > 0) state.partition = names[0];
  $('#partitions').replaceChildren(
    ...names.map((name) => {
      const link = el('button', name, { type: 'button', 'data-partition': name });
      link.addEventListener('click', () => guarded(() => selectPartition(name)));
      const tr = row([link, stats.partitions[name]]);
      if (name === state.partition) tr.className = 'selected';
      return tr;
    }),
  );
}

async function selectPartition(name) {
  state.partition = name;
  state.page = 1;
  state.subject = null;
  $('#subject-panel').hidden = true;
  await loadPartitions();
  await loadSubjects();
}

async function loadSubjects() {
  const page = await getJson(`/api/v1/subjects/${encodeURIComponent(state.partition)}?page=${state.page}&page_size=${PAGE_SIZE}`);
  state.total = page.total;
  state.subjects = page.subjects;
  $('#partition-name').textContent = state.partition;
  const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
  $('#page-info').textContent = `page ${state.page} of ${pages} · ${page.total} subjects`;
  $('#prev').disabled = state.page <= 1;
  $('#next').disabled = state.page >= pages;
  renderSubjects();
}

function renderSubjects() {
  const filter = $('#filter').value.trim().toLowerCase();
  const shown = state.subjects.filter((subject) => subject.subject_id.toLowerCase().includes(filter));
  $('#subjects').replaceChildren(
    ...shown.map((subject) => {
      const open = el('button', subject.subject_id, { type: 'button', 'data-subject': subject.subject_id });
      open.addEventListener('click', () => guarded(() => openSubject(subject.subject_id)));
      return row([open, subject.template_count, subject.sources.join(', '), subject.created_at]);
    }),
  );
}

async function openSubject(subjectId) {
  const record = await getJson(`/api/v1/subjects/${encodeURIComponent(state.partition)}/${encodeURIComponent(subjectId)}`);
  state.subject = record.subject_id;
  $('#subject-name').textContent = `${record.subject_id} (${record.partition})`;
  $('#templates').replaceChildren(...record.templates.map((t) => row([t.template_id, t.source, fixed(t.quality), t.model_id, t.created_at])));
  $('#subject-panel').hidden = false;
}

async function deleteSubject() {
  const subjectId = state.subject;
  if (!subjectId) return;
  if (!window.confirm(`Delete subject "${subjectId}" and all its templates from ${state.partition}? This cannot be undone.`)) return;
  await postJson('/api/v1/delete', { subject_id: subjectId, partition: state.partition });
  state.subject = null;
  $('#subject-panel').hidden = true;
  await Promise.all([loadPartitions(), loadSubjects(), loadAudit()]);
}

async function loadAudit() {
  const { events } = await getJson('/api/v1/audit?limit=20');
  $('#audit').replaceChildren(
    ...events.map((e) => row([e.at, e.operation, e.partition, e.subject_id, e.status, e.code, e.decision, fixed(e.score), e.key_id])),
  );
}

async function refresh() {
  // each panel on its own: one refused call (say, a key without admin scope) leaves the others shown
  await Promise.all([guarded(loadHealth), guarded(async () => (await loadPartitions(), await loadSubjects())), guarded(loadAudit)]);
}

$('#filter').addEventListener('input', renderSubjects);
$('#subject-filter').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = $('#filter').value.trim();
  if (id) guarded(() => openSubject(id));
});
$('#prev').addEventListener('click', () => guarded(async () => (state.page--, await loadSubjects())));
$('#next').addEventListener('click', () => guarded(async () => (state.page++, await loadSubjects())));
$('#delete-subject').addEventListener('click', () => guarded(deleteSubject));
keyForm(refresh);
refresh();
