// The link page: sign in, create an agent, link it by QR or pairing code, watch its status, send
// a test message, see recent messages, events, webhook deliveries and daily statistics, rename
// the agent. Plain modules, no build. Every call goes through ROUTES so the page follows the API
// in one place.
//
// Auth and live status use supabase-js as any Supabase web app does (served by the stack as
// /vendor/supabase.js; on Supabase, use the same file or your bundler's copy). The session is
// persisted and refreshed by supabase-js; sign-in is a magic link or a password on Supabase, and
// locally the link `npm start` prints. Status is live: the page joins the private Realtime
// channel `agent:<id>` (RLS lets only the owner in) and fetches the session when the database
// broadcasts `session_changed` — the broadcast carries no QR or pairing code. Only when that
// channel cannot be joined (an API key is not a user) does the page fall back to polling.
// Recent activity (messages, events, deliveries, statistics) refreshes every 5 s.

const config = await fetch('./config.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
const API = (config.apiBase ?? '/gateway').replace(/\/$/, '');
const supabase = config.supabaseUrl && config.supabasePublishableKey && globalThis.supabase
  ? globalThis.supabase.createClient(config.supabaseUrl, config.supabasePublishableKey, {
      auth: { persistSession: true, autoRefreshToken: true, detectSessionInUrl: true },
    })
  : null;

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
  stats: (id) => ['GET', `/v1/agents/${seg(id)}/stats`],
  rename: (id) => ['PATCH', `/v1/agents/${seg(id)}`],
};

const $ = (id) => document.getElementById(id);
// A pasted token or API key lives in this tab only; a supabase-js session is persisted by supabase-js.
let token = sessionStorage.getItem('wa-gateway-token');
let current = null;
let names = new Map();
let activityTimer = null;
let fallbackTimer = null;
let channel = null;

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
  names = new Map(agents.map((a) => [a.id, a.name]));
  const ul = $('agent-list');
  ul.replaceChildren();
  for (const agent of agents) {
    const a = document.createElement('a');
    a.href = `#${agent.id}`;
    a.textContent = agent.name;
    item(ul, a, ` · ${agent.status ?? agent.session?.status ?? ''}`);
  }
  if (!agents.length) item(ul, 'No agents yet.');
  if (current) $('agent-title').textContent = names.get(current) ?? 'Agent';
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

function stopWatching() {
  clearInterval(activityTimer);
  clearInterval(fallbackTimer);
  if (channel) supabase?.removeChannel(channel);
  channel = null;
}

async function signOut(message = '') {
  stopWatching();
  current = null;
  token = null;
  sessionStorage.removeItem('wa-gateway-token');
  if (supabase) await supabase.auth.signOut().catch(() => {});
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

async function refreshSession() {
  if (!current) return;
  try {
    renderSession(await call(ROUTES.session(current)));
    loadAgents().catch(() => {});
    $('agent-error').textContent = '';
  } catch (e) {
    $('agent-error').textContent = e.message;
  }
}

async function refreshActivity() {
  if (!current) return;
  try {
    const [out, inbound, events, deliveries, stats] = await Promise.all([
      call(ROUTES.messages(current)),
      call(ROUTES.inbound(current)).catch(() => []),
      call(ROUTES.events(current)).catch(() => []),
      loadDeliveries(current).catch(() => []),
      call(ROUTES.stats(current)).catch(() => null),
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
    if (stats) renderStats(stats);
  } catch (e) {
    $('agent-error').textContent = e.message;
  }
}

// The last 7 UTC days, newest first (the API zero-fills the days without traffic).
function renderStats(stats) {
  const tbody = $('stats').tBodies[0];
  tbody.replaceChildren();
  for (const d of [...(stats.days ?? [])].reverse().slice(0, 7)) {
    const tr = tbody.insertRow();
    tr.dataset.day = d.day;
    for (const v of [d.day, d.sent, d.delivered, d.read, d.failed, d.received]) tr.insertCell().append(text(String(v)));
  }
}

const refresh = () => Promise.all([refreshSession(), refreshActivity()]);

// Deliveries belong to webhook endpoints: those of this agent and the account-wide ones.
async function loadDeliveries(agentId) {
  const hooks = list(await call(ROUTES.webhooks())).filter((h) => !h.agentId || h.agentId === agentId).slice(0, 3);
  const pages = await Promise.all(hooks.map((h) => call(ROUTES.deliveries(h.id)).catch(() => [])));
  return pages.flatMap(list).sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt))).slice(0, 10);
}

function setLive(live) {
  $('live').textContent = live ? 'live' : 'refreshing every 5 s';
  $('live').dataset.live = String(live);
}

// The agent's private channel: only its owner may join (RLS on realtime.messages). Each broadcast
// says "this session changed"; the page reads the session from the API.
async function watchSession(id) {
  const jwt = token?.split('.').length === 3;
  const fallBack = () => {
    setLive(false);
    clearInterval(fallbackTimer);
    fallbackTimer = setInterval(refreshSession, 5000);
  };
  if (!supabase || !jwt) return fallBack();
  const { data } = await supabase.auth.getSession();
  // A pasted user token has no supabase-js session: hand it to Realtime directly.
  await supabase.realtime.setAuth(data.session ? undefined : token);
  if (current !== id) return;
  channel = supabase
    .channel(`agent:${id}`, { config: { private: true } })
    .on('broadcast', { event: 'session_changed' }, () => {
      refreshSession();
      refreshActivity();
    })
    .subscribe((status) => {
      if (status === 'SUBSCRIBED') {
        clearInterval(fallbackTimer);
        setLive(true);
        refreshSession(); // anything that changed before the join
      } else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') fallBack();
    });
}

function openAgent(id) {
  stopWatching();
  current = id;
  $('agent-title').textContent = names.get(id) ?? 'Agent';
  $('rename-form').elements.name.value = names.get(id) ?? '';
  show('agent');
  refresh();
  activityTimer = setInterval(refreshActivity, 5000);
  watchSession(id);
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

if (supabase) {
  // supabase-js refreshes the access token before it expires: API calls use the newest one.
  supabase.auth.onAuthStateChange((_event, session) => {
    if (session && !sessionStorage.getItem('wa-gateway-token')) token = session.access_token;
  });
  // The sign-in methods the Supabase project enables (config.json: magicLink / password, default on).
  if (config.localAuth) $('local-sign-in').hidden = false;
  else {
    $('magic-link-form').hidden = config.magicLink === false;
    $('password-form').hidden = config.password === false;
  }
  $('magic-link-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const { error } = await supabase.auth.signInWithOtp({
      email: new FormData(e.target).get('email'),
      options: { emailRedirectTo: location.origin + location.pathname, shouldCreateUser: false },
    });
    $('sign-in-error').textContent = error ? error.message : 'Check your email for the sign-in link.';
  });
  $('password-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const { data, error } = await supabase.auth.signInWithPassword({ email: form.get('email'), password: form.get('password') });
    if (error) {
      $('sign-in-error').textContent = error.message;
      return;
    }
    token = data.session.access_token;
    signedIn();
  });
}

$('sign-out').addEventListener('click', () => signOut());
$('create-agent-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = new FormData(e.target).get('name');
  call(ROUTES.createAgent(), { name })
    .then((agent) => { e.target.reset(); names.set(agent.id, agent.name); location.hash = agent.id; return loadAgents(); })
    .catch((err) => { $('sign-in-error').textContent = err.message; });
});
$('rename-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = new FormData(e.target).get('name');
  act(async () => {
    const agent = await call(ROUTES.rename(current), { name });
    names.set(current, agent.name);
    $('agent-title').textContent = agent.name;
    await loadAgents();
  });
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

// getSession waits for supabase-js to read a sign-in link from the address, if there is one.
const session = token ? null : (await supabase?.auth.getSession())?.data.session;
if (session) token = session.access_token;
if (token) signedIn();
else show('sign-in');
