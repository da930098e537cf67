/* orderly console: reads the public HTTP API of this origin and renders every value as text
 * (textContent, never HTML: the page's Trusted Types policy would refuse it anyway). */
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'orderly.read_token';
  const EVENT_TYPES = ['OrderPlaced', 'OrderPaid', 'OrderShipped', 'OrderCancelled',
    'AccountOpened', 'FundsDeposited', 'FundsWithdrawn', 'TransferSent', 'TransferReceived',
    'AccountClosed', 'PersonalDataForgotten'];
  const FEED_ROWS = 200;
  const TRAIL_PAGE = 1000;

  // --- rendering: text only ---------------------------------------------------------------

  function text(value) {
    if (value === null || value === undefined) return '';
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  function cell(tag, value, cls) {
    const c = document.createElement(tag);
    c.textContent = text(value);
    if (cls) c.className = cls;
    return c;
  }

  function row(values, dataIndex) {
    const tr = document.createElement('tr');
    values.forEach((v, i) => tr.append(cell('td', v, i === dataIndex ? 'data' : '')));
    return tr;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  /* A key/value table of obj; keys in `changed` are marked. */
  function kv(table, obj, changed) {
    fill(table.tBodies[0], Object.keys(obj || {}).map((k) => {
      const tr = document.createElement('tr');
      tr.append(cell('th', k), cell('td', obj[k]));
      if (changed && changed.has(k)) tr.className = 'changed';
      tr.dataset.key = k;
      return tr;
    }));
  }

  function showError(err) {
    const e = $('error');
    if (!err) {
      e.hidden = true;
      return;
    }
    e.textContent = err.message || String(err);
    e.hidden = false;
  }

  function setConn(label, cls) {
    const c = $('conn');
    c.textContent = label;
    c.className = 'pill ' + (cls || '');
  }

  // --- the API, with the tab's token ---------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || 'HTTP ' + status);
      this.status = status;
    }
  }

  function authHeaders(extra) {
    const h = Object.assign({}, extra);
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  function needToken() {
    setConn('token needed', 'warn');
    $('auth-why').textContent = sessionStorage.getItem(TOKEN_KEY)
      ? 'The token was refused; enter another read token.'
      : 'This service needs a read token.';
    $('auth').hidden = false;
    $('token').focus();
  }

  async function api(path) {
    const r = await fetch(path, { headers: authHeaders({ Accept: 'application/json' }),
      cache: 'no-store' });
    const body = await r.json().catch(() => null);
    if (r.status === 401) needToken();
    if (!r.ok) throw new ApiError(r.status, body);
    return body;
  }

  const enc = encodeURIComponent;

  // --- overview -------------------------------------------------------------------------------

  const overview = { head: 0, checkpoint: 0, pending: false };

  function showHead() {
    $('head').textContent = String(overview.head);
    $('checkpoint').textContent = String(overview.checkpoint);
  }

  async function loadProjections() {
    const list = await api('/v1/projections');
    fill($('projections').tBodies[0], list.map((p) => {
      const by = p.served_by || {};
      const db = by.read_database || {};
      overview.head = Math.max(overview.head, p.head_position);
      overview.checkpoint = Math.max(overview.checkpoint, p.position);
      return row([p.name, p.position, p.head_position, p.lag_events, p.status, p.updated_at,
        by.instance, by.role, db.role ? db.role + ' ' + (db.server || '') : '']);
    }));
    showHead();
    return list;
  }

  /* At most one refresh a second while events stream in. */
  function projectionsSoon() {
    if (overview.pending) return;
    overview.pending = true;
    setTimeout(() => {
      overview.pending = false;
      if (page() === 'overview') loadProjections().catch(showError);
    }, 1000);
  }

  // --- stream view and time slider ------------------------------------------------------------

  const stream = { id: null, kind: null, key: null, events: [], views: new Map(), seq: 0 };

  /* Candidates for what the user typed: a stream id first, then an account or order id. */
  function candidates(input) {
    const out = [];
    const m = /^(order|account)-(.+)$/.exec(input);
    if (m) out.push({ kind: m[1], key: m[2] });
    out.push({ kind: 'account', key: input }, { kind: 'order', key: input });
    return out;
  }

  function viewPath(kind, key, query) {
    return '/v1/' + kind + 's/' + enc(key) + (query || '');
  }

  async function resolve(input) {
    for (const c of candidates(input)) {
      try {
        return Object.assign(c, { current: await api(viewPath(c.kind, c.key)) });
      } catch (e) {
        if (e.status !== 404) throw e;
      }
    }
    throw new Error('no order, account or stream ' + input);
  }

  async function loadTrail(id) {
    const events = [];
    for (let from = 1; ; from += TRAIL_PAGE) {
      const page = await api('/v1/streams/' + enc(id) + '/events?from_version=' + from +
        '&limit=' + TRAIL_PAGE);
      events.push(...page.events);
      if (page.events.length < TRAIL_PAGE) return events;
    }
  }

  function showVerdict(v) {
    const p = $('verdict');
    if (v.ok) {
      p.textContent = 'chain intact · ' + v.checked + ' events checked';
      p.className = 'pill ok';
    } else {
      p.textContent = 'chain broken at position ' + v.first_broken_position;
      p.className = 'pill bad';
    }
  }

  async function openStream(input) {
    showError(null);
    const found = await resolve(input);
    const id = found.kind + '-' + found.key;
    const [events, verdict] = await Promise.all([loadTrail(id), api('/v1/streams/' +
      enc(id) + '/verify')]);
    Object.assign(stream, { id, kind: found.kind, key: found.key, events, views: new Map() });
    $('stream-id').textContent = id;
    $('find-id').value = input;
    showVerdict(verdict);
    renderTrail();
    const last = events.length ? events[events.length - 1].stream_version : 1;
    const slider = $('slider');
    slider.max = String(last);
    slider.value = String(last);
    $('stream-body').hidden = false;
    await showVersion(last);
  }

  function renderTrail() {
    fill($('trail').tBodies[0], stream.events.map((e) => {
      const m = e.metadata || {};
      const tr = row([e.stream_version, e.position, e.type, e.recorded_at, m.actor,
        m.correlation_id, m.causation_id, e.data], 7);
      tr.dataset.version = String(e.stream_version);
      return tr;
    }));
  }

  async function viewAt(version) {
    if (version < 1) return null;
    if (!stream.views.has(version)) {
      stream.views.set(version, api(viewPath(stream.kind, stream.key, '?version=' + version)));
    }
    return stream.views.get(version);
  }

  /* What the event at `version` changed: keys whose value differs from the version before. */
  function changedKeys(before, after) {
    const quiet = new Set(['version', 'updated_at']);
    return new Set(Object.keys(after).filter((k) => !quiet.has(k) &&
      (!before || text(before[k]) !== text(after[k]))));
  }

  async function showVersion(version, title) {
    const seq = ++stream.seq;
    const [before, after] = await Promise.all([viewAt(version - 1), viewAt(version)]);
    if (seq !== stream.seq) return; // a later move of the slider won
    const event = stream.events.find((e) => e.stream_version === version);
    $('slider').value = String(version);
    $('slider-version').textContent = String(version);
    $('slider-time').textContent = event ? event.type + ' · ' + event.recorded_at : '';
    const latest = version === Number($('slider').max);
    $('view-title').textContent = title ||
      (latest ? 'View now (version ' + version + ')' : 'View at version ' + version);
    kv($('view'), after, changedKeys(before, after));
    for (const tr of $('trail').tBodies[0].rows) {
      tr.classList.toggle('current', tr.dataset.version === String(version));
    }
  }

  async function showAsOf(at) {
    const view = await api(viewPath(stream.kind, stream.key, '?as_of=' + enc(at)));
    stream.views.set(view.version, Promise.resolve(view));
    await showVersion(view.version, 'View as of ' + at + ' (version ' + view.version + ')');
  }

  // --- live feed (fetch, not EventSource: EventSource cannot send the bearer token) -----------

  const live = { gen: 0, ctrl: null, last: null, start: 0, buffer: [] };

  function sleep(ms) {
    return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
  }

  function parseFrame(frame) {
    const f = { id: null, data: [] };
    for (const line of frame.split('\n')) {
      if (!line || line[0] === ':') continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') f.data.push(value);
      else if (field === 'id') f.id = value;
    }
    return f.data.length ? f : null;
  }

  async function readFrames(body, gen) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    while (gen === live.gen) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value.replace(/\r/g, '');
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const f = parseFrame(buf.slice(0, end));
        buf = buf.slice(end + 2);
        if (f) onEvent(JSON.parse(f.data.join('\n')), f.id);
      }
    }
  }

  function matches(e) {
    const type = $('filter-type').value.trim();
    const prefix = $('filter-prefix').value.trim();
    return (!type || e.type === type) && (!prefix || e.stream_id.startsWith(prefix));
  }

  function feedRow(e) {
    const tr = row([e.position, e.stream_id, e.stream_version, e.type, e.recorded_at, e.data], 5);
    tr.dataset.position = String(e.position);
    return tr;
  }

  function renderFeed() {
    fill($('feed').tBodies[0], live.buffer.filter(matches).slice(-FEED_ROWS).reverse()
      .map(feedRow));
  }

  function onEvent(e, id) {
    live.last = id !== null ? id : String(e.position);
    live.buffer.push(e);
    if (live.buffer.length > 4 * FEED_ROWS) live.buffer.splice(0, live.buffer.length - FEED_ROWS);
    if (matches(e)) {
      const tbody = $('feed').tBodies[0];
      tbody.insertBefore(feedRow(e), tbody.firstChild);
      while (tbody.rows.length > FEED_ROWS) tbody.deleteRow(-1);
    }
    overview.head = Math.max(overview.head, e.position);
    overview.checkpoint = Math.max(overview.checkpoint, e.position);
    showHead();
    projectionsSoon();
    if (e.stream_id === stream.id && page() === 'stream') streamSoon();
  }

  let streamTimer = null;
  /* A new event on the stream on screen: reload it, keeping the slider where it was unless it
   * showed the latest version. */
  function streamSoon() {
    clearTimeout(streamTimer);
    streamTimer = setTimeout(async () => {
      const slider = $('slider');
      const atEnd = slider.value === slider.max;
      const keep = Number(slider.value);
      try {
        const events = await loadTrail(stream.id);
        stream.events = events;
        renderTrail();
        slider.max = String(events[events.length - 1].stream_version);
        showVerdict(await api('/v1/streams/' + enc(stream.id) + '/verify'));
        await showVersion(atEnd ? Number(slider.max) : keep);
      } catch (err) {
        showError(err);
      }
    }, 300);
  }

  async function liveLoop(gen, signal) {
    let delay = 500;
    while (gen === live.gen) {
      const headers = authHeaders({ Accept: 'text/event-stream' });
      let url = '/v1/events/live';
      if (live.last !== null) headers['Last-Event-ID'] = live.last; // resume after it
      else url += '?after_position=' + live.start;
      try {
        const r = await fetch(url, { headers, signal, cache: 'no-store' });
        if (r.status === 401) {
          needToken();
          return;
        }
        if (!r.ok) throw new ApiError(r.status, null);
        setConn('live', 'ok');
        delay = 500;
        await readFrames(r.body, gen);
      } catch (err) {
        if (gen !== live.gen) return;
      }
      setConn('reconnecting', 'warn');
      await sleep(delay);
      delay = Math.min(2 * delay, 5000);
    }
  }

  /* (Re)starts the feed: the last 50 events, then live. */
  async function startLive() {
    live.gen++;
    if (live.ctrl) live.ctrl.abort();
    live.ctrl = new AbortController();
    const gen = live.gen;
    if (live.last === null) {
      const list = await loadProjections();
      live.start = Math.max(0, Math.max(0, ...list.map((p) => p.position)) - 50);
    }
    liveLoop(gen, live.ctrl.signal);
  }

  // --- customers, accounts, revenue -----------------------------------------------------------

  async function loadAccounts() {
    const owner = $('owner').value.trim();
    const page = await api('/v1/accounts?limit=20' + (owner ? '&owner=' + enc(owner) : ''));
    fill($('accounts').tBodies[0], page.items.map((a) => {
      const tr = row([a.account_id, a.owner, a.currency, a.balance_cents, a.status, a.version]);
      tr.dataset.account = a.account_id;
      return tr;
    }));
  }

  function isoDay(d) {
    return d.toISOString().slice(0, 10);
  }

  async function loadRevenue() {
    if (!$('from').value) {
      const now = new Date();
      $('to').value = isoDay(now);
      $('from').value = isoDay(new Date(now.getTime() - 30 * 86400000));
    }
    const r = await api('/v1/stats/revenue?from=' + $('from').value + '&to=' + $('to').value);
    fill($('revenue').tBodies[0], r.days.map((d) => row([d.date, d.currency, d.orders_paid,
      d.revenue_cents, d.refunds_cents])));
  }

  // --- pages ----------------------------------------------------------------------------------

  function page() {
    const name = location.hash.slice(1).split('/')[0];
    return ['overview', 'stream', 'live', 'people'].includes(name) ? name : 'overview';
  }

  async function route() {
    const name = page();
    for (const s of document.querySelectorAll('.page')) s.hidden = s.id !== 'page-' + name;
    for (const a of document.querySelectorAll('nav a')) {
      if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    showError(null);
    try {
      if (name === 'overview') await loadProjections();
      if (name === 'stream') {
        const id = decodeURIComponent(location.hash.split('/').slice(1).join('/'));
        if (id && id !== stream.id) await openStream(id);
      }
      if (name === 'people') await Promise.all([loadAccounts(), loadRevenue()]);
    } catch (err) {
      showError(err);
    }
  }

  /* Runs a form's action with its errors shown, never a page load. */
  function onSubmit(id, action) {
    $(id).addEventListener('submit', (ev) => {
      ev.preventDefault();
      showError(null);
      Promise.resolve().then(action).catch(showError);
    });
  }

  function wire() {
    onSubmit('find', () => {
      const id = $('find-id').value.trim();
      const hash = '#stream/' + enc(id);
      if (location.hash === hash) return openStream(id);
      location.hash = hash;
      return null;
    });
    onSubmit('asof', () => showAsOf($('asof-at').value.trim()));
    onSubmit('customer', async () => {
      kv($('customer-view'), await api('/v1/customers/' + enc($('customer-id').value.trim())));
    });
    onSubmit('accounts-filter', loadAccounts);
    onSubmit('revenue-range', loadRevenue);
    onSubmit('live-filter', renderFeed);
    onSubmit('auth', () => {
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      $('token').value = '';
      $('auth').hidden = true;
      return Promise.all([route(), startLive()]);
    });
    $('slider').addEventListener('input', () => {
      showVersion(Number($('slider').value)).catch(showError);
    });
    $('trail').addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-version]');
      if (tr) showVersion(Number(tr.dataset.version)).catch(showError);
    });
    $('filter-type').addEventListener('input', renderFeed);
    $('filter-prefix').addEventListener('input', renderFeed);
    const types = $('event-types');
    for (const t of EVENT_TYPES) {
      const o = document.createElement('option');
      o.value = t;
      types.append(o);
    }
    window.addEventListener('hashchange', route);
  }

  wire();
  route();
  startLive().catch((err) => {
    if (err.status !== 401) showError(err);
  });
})();
