// The link page: sign in, create an agent, link it by QR or pairing code, watch its status, send
// a test message, see recent messages, events and webhook deliveries. Plain modules, no build.
// Status is polled every 1.5 s while an agent is open (the connector publishes QR codes and
// status to Postgres; the control plane reads them back), which works the same locally and on
// Supabase. Every call goes through ROUTES so the page follows the API in one place.

const config = await fetch('./config.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
const API = (config.apiBase ?? '/gateway').replace(/\/$/, '');

// Ids also come from the address bar, and a crafted link controls that: only a UUID names an
// agent, and every path segment is encoded, so `#../webhooks/<id>/test?` cannot redirect a call
// made with the user's token.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const seg = (value) => encodeURIComponent(String(value));
const agentIdFromHash = () => (UUID.test(location.hash.slice(1)) ? location.hash.slice(1) : null);

const ROUTES = {
  listAgents: () => ['GET', '/v1/agents'],
  createAgent: () => ['POST', '/v1/agents'],
  session: (id) => ['GET', `/v1/agents/${seg(id)}/session`],
  link: (id) => ['POST', `/v1/agents/${seg(id)}/session/link`],
  command: (id, name) => ['POST', `/v1/agents/${seg(id)}/session/${seg(name)}`],
  send: (id) => ['POST', `/v1/agents/${seg(id)}/messages`],
  messages: (id) => ['GET', `/v1/agents/${seg(id)}/messages?limit=10`],
  inbound: (id) => ['GET', `/v1/agents/${seg(id)}/inbound?limit=10`],
  events: (id) => ['GET', `/v1/agents/${seg(id)}/events?limit=10`],
  webhooks: () => ['GET', '/v1/webhooks'],
  deliveries: (webhookId) => ['GET', `/v1/webhooks/${seg(webhookId)}/deliveries?limit=10`],
};

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('wa-gateway-token');
let current = null;
let timer = null;

class ApiError extends Error {}

async function call([method, path], body, headers = {}) {
  const res = await fetch(API + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(data?.error?.message ?? `HTTP ${res.status}`);
  return data;
}

const text = (value) => document.createTextNode(value ?? '');
function item(parent, ...parts) {
  const li = document.createElement('li');
  for (const p of parts) li.append(typeof p === 'string' ? text(p) : p);
  parent.append(li);
  return li;
}
const when = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const list = (data) => (Array.isArray(data) ? data : data?.data ?? data?.items ?? []);

function show(section) {
  for (const id of ['sign-in', 'agents', 'agent']) $(id).hidden = id !== section && !(section === 'agent' && id === 'agents');
  $('sign-out').hidden = section === 'sign-in';
}

async function loadAgents() {
  const agents = list(await call(ROUTES.listAgents()));
  const ul = $('agent-list');
  ul.replaceChildren();
  for (const agent of agents) {
    const a = document.createElement('a');
    a.href = `#${agent.id}`;
    a.textContent = agent.name;
    item(ul, a, ` · ${agent.status ?? agent.session?.status ?? ''}`);
  }
  if (!agents.length) item(ul, 'No agents yet.');
}

async function signedIn() {
  show('agents');
  try {
    await loadAgents();
    if (agentIdFromHash()) openAgent(agentIdFromHash());
  } catch (e) {
    signOut(e.message);
  }
}

function signOut(message = '') {
  token = null;
  sessionStorage.removeItem('wa-gateway-token');
  clearInterval(timer);
  $('sign-in-error').textContent = message;
  show('sign-in');
}

function renderSession(s) {
  $('status').textContent = s.status;
  $('status').dataset.status = s.status;
  $('phone').textContent = s.phone ?? s.phoneNumber ?? '';
  $('last-error').textContent = s.lastError?.reason ?? s.lastDisconnectReason ?? '';
  const qr = s.qr?.image ?? s.qrImage ?? null;
  $('qr-box').hidden = s.status !== 'qr' || !qr;
  if (qr && $('qr').src !== qr) $('qr').src = qr;
  $('qr-text').textContent = s.qr?.text ?? s.qrText ?? '';
  const code = s.pairingCode ?? null;
  $('pairing-code-box').hidden = !code || s.status !== 'pairing_code';
  $('pairing-code').textContent = code ?? '';
  $('link').hidden = s.status === 'connected';
}

async function refresh() {
  if (!current) return;
  try {
    renderSession(await call(ROUTES.session(current)));
    loadAgents().catch(() => {});
    const [out, inbound, events, deliveries] = await Promise.all([
      call(ROUTES.messages(current)),
      call(ROUTES.inbound(current)).catch(() => []),
      call(ROUTES.events(current)).catch(() => []),
      loadDeliveries(current).catch(() => []),
    ]);
    const rows = [
      ...list(out).map((m) => [m.to, m.content?.text ?? m.type, m.status, m.createdAt]),
      ...list(inbound).map((m) => [m.senderPhone ?? m.chatJid, m.content?.text ?? m.type, m.fromMe ? 'from the phone' : 'received', m.createdAt]),
    ].sort((a, b) => String(b[3]).localeCompare(String(a[3]))).slice(0, 10);
    const tbody = $('messages').tBodies[0];
    tbody.replaceChildren();
    for (const [who, body, status, at] of rows) {
      const tr = tbody.insertRow();
      for (const v of [who, body, status, when(at)]) tr.insertCell().append(text(v));
      tr.dataset.status = status;
    }
    $('events').replaceChildren();
    for (const e of list(events)) item($('events'), `${when(e.createdAt)} ${e.type} ${e.payload?.status ?? ''}`);
    $('deliveries').replaceChildren();
    for (const d of list(deliveries)) item($('deliveries'), `${when(d.createdAt)} ${d.eventType ?? ''} → ${d.status} (${d.attempts} attempts${d.lastStatusCode ? `, HTTP ${d.lastStatusCode}` : ''})`);
    $('agent-error').textContent = '';
  } catch (e) {
    $('agent-error').textContent = e.message;
  }
}

// Deliveries belong to webhook endpoints: those of this agent and the account-wide ones.
async function loadDeliveries(agentId) {
  const hooks = list(await call(ROUTES.webhooks())).filter((h) => !h.agentId || h.agentId === agentId).slice(0, 3);
  const pages = await Promise.all(hooks.map((h) => call(ROUTES.deliveries(h.id)).catch(() => [])));
  return pages.flatMap(list).sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt))).slice(0, 10);
}

function openAgent(id) {
  current = id;
  show('agent');
  clearInterval(timer);
  refresh();
  timer = setInterval(refresh, 1500);
}

async function act(fn) {
  try {
    $('agent-error').textContent = '';
    await fn();
    await refresh();
  } catch (e) {
    $('agent-error').textContent = e.message;
  }
}

$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token = new FormData(e.target).get('key').trim();
  sessionStorage.setItem('wa-gateway-token', token);
  signedIn();
});

// Production: Supabase Auth (GoTrue) password sign-in; the access token is a user JWT the
// control plane verifies against the project's JWKS.
if (config.supabaseUrl && config.supabasePublishableKey) {
  $('password-form').hidden = false;
  $('password-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const res = await fetch(`${config.supabaseUrl}/auth/v1/token?grant_type=password`, {
      method: 'POST',
      headers: { apikey: config.supabasePublishableKey, 'content-type': 'application/json' },
      body: JSON.stringify({ email: form.get('email'), password: form.get('password') }),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      $('sign-in-error').textContent = data.error_description ?? 'Sign-in failed';
      return;
    }
    token = data.access_token;
    sessionStorage.setItem('wa-gateway-token', token);
    signedIn();
  });
}

$('sign-out').addEventListener('click', () => signOut());
$('create-agent-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = new FormData(e.target).get('name');
  call(ROUTES.createAgent(), { name })
    .then((agent) => { e.target.reset(); location.hash = agent.id; return loadAgents(); })
    .catch((err) => { $('sign-in-error').textContent = err.message; });
});
window.addEventListener('hashchange', () => agentIdFromHash() && openAgent(agentIdFromHash()));
$('link-qr').addEventListener('click', () => act(() => call(ROUTES.link(current), { method: 'qr' })));
$('pairing-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(() => call(ROUTES.link(current), { method: 'pairing_code', phone: new FormData(e.target).get('phone') }));
});
for (const name of ['disconnect', 'restart', 'logout']) {
  $(name).addEventListener('click', () => {
    if (name === 'logout' && !confirm('Log this number out? Linking it again needs the phone.')) return;
    act(() => call(ROUTES.command(current, name), {}));
  });
}
$('send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  act(async () => {
    const r = await call(ROUTES.send(current), { to: form.get('to'), type: 'text', text: form.get('text') },
      { 'idempotency-key': crypto.randomUUID() });
    $('send-result').textContent = `Queued ${r.id}`;
  });
});

if (token) signedIn();
else show('sign-in');
