// The API key lives in sessionStorage only: gone when the tab closes, never in localStorage or a cookie.
const KEY_NAME = 'faceserver.apiKey';

export function apiKey() {
  return sessionStorage.getItem(KEY_NAME) ?? '';
}

export function setApiKey(value) {
  if (value) sessionStorage.setItem(KEY_NAME, value);
  else sessionStorage.removeItem(KEY_NAME);
}

/** A failed call, carrying the server's own words: its JSON or XML error as it came. */
export class ServerError extends Error {
  constructor(status, text) {
    super(`${status}: ${describe(text)}`);
    this.status = status;
  }
}

function describe(text) {
  try {
    const body = JSON.parse(text);
    if (body && body.code) return `${body.code} — ${body.message}`;
  } catch {
    // not JSON: an XML error from a biometric endpoint
  }
  const xml = new DOMParser().parseFromString(text, 'application/xml');
  const code = xml.querySelector('ErrorResponse > code')?.textContent;
  const message = xml.querySelector('ErrorResponse > message')?.textContent;
  return code ? `${code} — ${message}` : text;
}

async function send(path, init = {}) {
  const headers = new Headers(init.headers);
  const key = apiKey();
  if (key) headers.set('Authorization', `Bearer ${key}`);
  const response = await fetch(path, { ...init, headers });
  if (!response.ok) throw new ServerError(response.status, await response.text());
  return response;
}

async function call(path, init = {}) {
  return (await send(path, init)).text();
}

/** A file the server made (a generated photo), fetched with the key: a plain link could not send it. */
export async function getBlob(path) {
  return (await send(path)).blob();
}

export async function getJson(path) {
  return JSON.parse(await call(path));
}

export async function postJson(path, body) {
  return call(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/** multipart with an `image` part (or `part`) and a `metadata` JSON part, as every biometric endpoint takes */
export async function postImage(path, file, metadata, part = 'image') {
  const form = new FormData();
  form.append(part, file, file.name || 'photo.jpg');
  if (metadata !== undefined) form.append('metadata', JSON.stringify(metadata));
  return call(path, { method: 'POST', body: form });
}

export function parseXml(text) {
  return new DOMParser().parseFromString(text, 'application/xml').documentElement;
}

/** Wires the key box in the page header: paste, save for this tab, forget. */
export function keyForm(onChange) {
  const input = document.querySelector('#api-key');
  const state = document.querySelector('#key-state');
  const show = () => (state.textContent = apiKey() ? 'key set for this tab' : 'no key (enough on a loopback server)');
  document.querySelector('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    input.value = '';
    show();
    onChange();
  });
  document.querySelector('#key-forget').addEventListener('click', () => {
    setApiKey('');
    show();
    onChange();
  });
  show();
}

/** Shows an error in the page's error box exactly as the server said it. */
export function showError(error) {
  const box = document.querySelector('#error');
  box.hidden = false;
  box.textContent = error instanceof Error ? error.message : String(error);
}

export function clearError() {
  const box = document.querySelector('#error');
  box.hidden = true;
  box.textContent = '';
}

/** An element with text content: the pages never put server text into innerHTML. */
export function el(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

export function row(cells) {
  const tr = el('tr');
  for (const cell of cells) tr.append(cell instanceof Node ? wrap(cell) : el('td', cell ?? '—'));
  return tr;
}

function wrap(node) {
  const td = el('td');
  td.append(node);
  return td;
}

/**
 * Hands `handle` the photo dropped on `zone` or chosen in `input`. The input is emptied after each
 * choice, so choosing the same photo again (say after pasting a key) is a change too.
 */
export function acceptPhoto(zone, input, handle) {
  zone.addEventListener('dragover', (event) => (event.preventDefault(), zone.classList.add('over')));
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (file) handle(file);
  });
  input.addEventListener('change', () => {
    const file = input.files[0];
    input.value = '';
    if (file) handle(file);
  });
}

export const $ = (selector) => document.querySelector(selector);

/** Runs a user action, showing its failure on the page in the server's words; the last error is cleared first. */
export async function guarded(work) {
  clearError();
  try {
    await work();
  } catch (error) {
    showError(error);
  }
}
