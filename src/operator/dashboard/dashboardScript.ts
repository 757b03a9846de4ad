// The dashboard's browser code: run list (filters kept in the URL, counts by status, auto-refresh,
// pending approvals, start and purge), run page (failure callout, actions, timeline, history table,
// jobs with Studio links, outputs, reports, events, record, audit), route health (SLO attainment, burn
// rate, a trend chart drawn as inline SVG) and the audit trail. It talks only to
// the operator API, sending the function key in the x-functions-key header. The key comes from the
// address's fragment (`#code=<key>`, which browsers never send to the server, so it stays out of server
// and proxy logs) or from a form, and is kept in sessionStorage.
//
// `dashboardMain` is served as the compiled function's own text (see dashboardAssets.ts), so it must not
// use anything from outside its body: the app compiles it with the rest of the code (typed, linted) and
// the browser runs it as is. The Node typings have no DOM, so the few browser types it uses are declared
// below, narrowly.
import type { ActionResult, AuditRecord, AuditVerification, CallerInfo, ObjectiveAttainment, PeriodHealth, RouteHealth, RouteHealthResponse, RunCounts, RunDetail, RunJob, RunListPage, RunStep, RunSummary, TrendPoint } from '../operatorApiTypes';

interface Ev {
  preventDefault(): void;
  target: unknown;
}
interface Node_ {
  textContent: string | null;
}
interface El extends Node_ {
  id: string;
  className: string;
  hidden: boolean;
  value: string;
  checked: boolean;
  disabled: boolean;
  open: boolean;
  returnValue: string;
  style: { setProperty(name: string, value: string): void };
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
  appendChild(child: Node_): void;
  replaceChildren(...children: Array<Node_ | string>): void;
  addEventListener(type: string, listener: (event: Ev) => void): void;
  removeEventListener(type: string, listener: (event: Ev) => void): void;
  querySelector(selector: string): El | null;
  focus(): void;
  remove(): void;
  replaceWith(...nodes: Array<Node_ | string>): void;
  showModal(): void;
  close(value?: string): void;
}
interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}
export interface BrowserDocument {
  getElementById(id: string): El | null;
  createElement(tag: string): El;
  createElementNS(namespace: string, tag: string): El;
  createTextNode(text: string): Node_;
  querySelector(selector: string): El | null;
  title: string;
}
export interface BrowserWindow {
  location: { hash: string; search: string; pathname: string; hostname: string };
  history: { replaceState(data: unknown, unused: string, url: string): void };
  sessionStorage: StorageLike;
  localStorage: StorageLike;
  addEventListener(type: string, listener: () => void): void;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number | undefined): void;
}

export function dashboardMain(win: BrowserWindow, doc: BrowserDocument): void {
  const KEY_ITEM = 'batchpilot.functionKey';
  const ACTOR_ITEM = 'batchpilot.actorName';
  const REFRESH_IN_MS = 10_000;
  const FINISHED = ['Completed', 'Failed', 'ValidationFailed', 'Terminated', 'Promoted', 'Rejected', 'RolledBack'];
  const STATUSES = ['Pending', 'Running', 'AwaitingApproval', 'Suspended', 'Completed', 'Failed', 'ValidationFailed', 'Terminated', 'Promoted', 'Rejected', 'RolledBack'];
  const apiBase = doc.querySelector('meta[name="batchpilot-api"]')?.getAttribute('content') ?? '/api/ops';
  const main = doc.getElementById('main')!;
  let caller: CallerInfo | undefined;
  let refreshTimer: number | undefined;
  let generation = 0;

  type Child = Node_ | string | null | undefined | false;
  type Attrs = Record<string, string | number | boolean | undefined | ((e: Ev) => void)>;

  /** Builds an element; text is always set as text, never parsed as HTML. */
  function h(tag: string, attrs: Attrs | null, ...children: Child[]): El {
    const el = doc.createElement(tag);
    for (const [name, value] of Object.entries(attrs ?? {})) {
      if (value === undefined || value === false) continue;
      if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value);
      else if (name === 'class') el.className = String(value);
      else if (value === true) el.setAttribute(name, '');
      else el.setAttribute(name, String(value));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === 'string' ? doc.createTextNode(c) : c);
    }
    return el;
  }

  /** Only http(s) links from API data become hrefs. */
  function safeHref(url: string | undefined): string | undefined {
    return url && /^https?:\/\//i.test(url) ? url : undefined;
  }
  function link(url: string | undefined, text: string): El | string {
    const href = safeHref(url);
    return href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text) : text;
  }
  function runLink(runId: string): El {
    return h('a', { href: `#/runs/${encodeURIComponent(runId)}` }, runId);
  }
  function badge(status: string): El {
    return h('span', { class: `badge s-${status}` }, status === 'AwaitingApproval' ? 'Awaiting approval' : status);
  }
  function when(iso: string | undefined): string {
    if (!iso) return '';
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
  }
  function duration(ms: number | undefined): string {
    if (ms === undefined || !Number.isFinite(ms)) return '';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(1)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }
  function json(value: unknown): string {
    return JSON.stringify(value, null, 2) ?? 'null';
  }
  function toast(message: string, isError = false): void {
    const box = doc.getElementById('toast')!;
    const p = h('p', { class: isError ? 'error' : undefined }, message);
    box.appendChild(p);
    win.setTimeout(() => p.remove(), isError ? 12_000 : 6_000);
  }

  // ---- the function key ------------------------------------------------------------------------
  const FRAGMENT_KEY = /^#code=([^&]*)(?:&(.*))?$/;
  // On the local host there is no sign-in: the key is all there is.
  const onLocalHost = /^(127\.0\.0\.1|localhost|\[::1\])$/.test(win.location.hostname);
  let keyNotice: string | undefined;

  /** Takes the key from `#code=<key>[&<route>]` and leaves only the route in the address bar. */
  function takeKeyFromUrl(): void {
    const params = new URLSearchParams(win.location.search);
    if (params.has('code')) {
      // Sent to the server, so in its logs: not used, and removed from the address bar and history.
      params.delete('code');
      const rest = params.toString();
      win.history.replaceState(null, '', `${win.location.pathname}${rest ? `?${rest}` : ''}${win.location.hash}`);
      keyNotice = 'The key was in the address\'s query (?code=), which is sent to the server and kept in its logs, so it was not used; consider rotating it. Open the dashboard with #code=<key> instead: the fragment never leaves the browser.';
    }
    const m = FRAGMENT_KEY.exec(win.location.hash);
    if (!m) return;
    let key = '';
    try {
      key = decodeURIComponent(m[1]).trim();
    } catch {
      keyNotice = 'The key in the address (#code=) is not validly encoded; paste it here instead.';
    }
    if (key) {
      win.sessionStorage.setItem(KEY_ITEM, key);
      // The fragment's key is good to use; a warning about a key in the query still deserves a word.
      if (keyNotice) toast(keyNotice, true);
      keyNotice = undefined;
    }
    // The key must not stay in the address bar, history or bookmarks.
    win.history.replaceState(null, '', `${win.location.pathname}${win.location.search}#${m[2] || '/'}`);
  }

  function showKeyForm(message?: string): void {
    stopRefresh();
    const input = h('input', { id: 'function-key', type: 'password', autocomplete: 'off', required: true, size: 48 });
    const signIn = `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(`${win.location.pathname}#/`)}`;
    const form = h(
      'form',
      {
        class: 'panel',
        onsubmit: (e: Ev) => {
          e.preventDefault();
          if (!input.value.trim()) return;
          win.sessionStorage.setItem(KEY_ITEM, input.value.trim());
          keyNotice = undefined;
          void route();
        },
      },
      h('h1', null, 'Function key needed'),
      keyNotice ? h('p', { class: 'error-text', id: 'key-notice', role: 'alert' }, keyNotice) : null,
      h('p', null, message ?? 'The operator API needs a function key. Open the dashboard with #code=<key>, or paste the key here; it is kept for this browser tab only.'),
      onLocalHost ? null : h('p', null, 'In Azure the API also needs you signed in with the Reader or Operator role: ', h('a', { href: signIn, id: 'sign-in' }, 'Sign in'), '.'),
      h('label', { for: 'function-key' }, 'Function key'),
      h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'primary' }, 'Open')),
    );
    main.replaceChildren(form);
    input.focus();
  }

  // ---- the API ---------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(readonly status: number, readonly code: string, message: string) {
      super(message);
    }
  }

  async function api<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
    const key = win.sessionStorage.getItem(KEY_ITEM);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (key) headers['x-functions-key'] = key;
    const actor = win.localStorage.getItem(ACTOR_ITEM);
    if (actor) headers['x-batchpilot-actor'] = actor;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${apiBase}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { error: { code: 'NotJson', message: text.slice(0, 300) } };
    }
    if (!res.ok) {
      const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
      if (res.status === 401) {
        win.sessionStorage.removeItem(KEY_ITEM);
        showKeyForm(`The API refused the request (${err?.message ?? 'HTTP 401'}): the function key is wrong, or you are not signed in. Paste a valid key${onLocalHost ? '' : ' and sign in'}.`);
      }
      throw new ApiError(res.status, err?.code ?? String(res.status), err?.message ?? `HTTP ${res.status}`);
    }
    return data as T;
  }

  function showError(err: unknown): void {
    if (err instanceof ApiError && err.status === 401) return;
    main.replaceChildren(h('div', { class: 'callout', role: 'alert' }, h('h2', null, 'Could not load'), h('p', null, (err as Error).message)), h('p', null, h('a', { href: '#/' }, 'Back to the run list')));
  }

  async function loadCaller(): Promise<void> {
    caller = await api<CallerInfo>('/me');
    const who = doc.getElementById('caller')!;
    const roles = caller.actor.roles.length ? ` · ${caller.actor.roles.join(', ')}` : '';
    who.replaceChildren(`${caller.actor.name}${roles}`, caller.readOnlyMode ? h('span', { class: 'badge s-AwaitingApproval', title: caller.refusal }, ' read-only') : caller.mayChange ? '' : h('span', { class: 'badge s-AwaitingApproval', title: caller.refusal }, ' view only'));
  }

  // ---- confirmation ------------------------------------------------------------------------------
  function confirmAction(title: string, text: string, confirmLabel: string, danger: boolean): Promise<string | undefined> {
    const dialog = doc.getElementById('confirm')!;
    const reason = doc.getElementById('confirm-reason')!;
    const actor = doc.getElementById('confirm-actor')!;
    const ok = doc.getElementById('confirm-ok')!;
    doc.getElementById('confirm-title')!.textContent = title;
    doc.getElementById('confirm-text')!.textContent = text;
    ok.textContent = confirmLabel;
    ok.className = danger ? 'danger' : 'primary';
    reason.value = '';
    actor.value = win.localStorage.getItem(ACTOR_ITEM) ?? '';
    dialog.returnValue = '';
    return new Promise((resolve) => {
      const done = (): void => {
        dialog.removeEventListener('close', done);
        if (dialog.returnValue !== 'ok' || !reason.value.trim()) return resolve(undefined);
        if (actor.value.trim()) win.localStorage.setItem(ACTOR_ITEM, actor.value.trim());
        else win.localStorage.removeItem(ACTOR_ITEM);
        resolve(reason.value.trim());
      };
      dialog.addEventListener('close', done);
      dialog.showModal();
      reason.focus();
    });
  }

  async function act(title: string, text: string, confirmLabel: string, danger: boolean, path: string, body: Record<string, unknown>, after: (r: ActionResult) => void): Promise<void> {
    const reason = await confirmAction(title, text, confirmLabel, danger);
    if (!reason) return;
    try {
      const result = await api<ActionResult>(path, 'POST', { ...body, reason });
      after(result);
    } catch (err) {
      toast(`${title} refused: ${(err as Error).message}`, true);
    }
  }

  /** A button that changes something: disabled, with the reason as its title, when the caller may not. */
  function changeButton(label: string, cls: string, onClick?: () => void): El {
    const refusal = caller && !caller.mayChange ? caller.refusal : undefined;
    return h('button', { type: onClick ? 'button' : 'submit', class: cls, disabled: !!refusal, title: refusal, onclick: onClick }, label);
  }

  // ---- refresh -------------------------------------------------------------------------------------
  function stopRefresh(): void {
    win.clearTimeout(refreshTimer);
    refreshTimer = undefined;
  }
  function scheduleRefresh(render: () => Promise<void>): void {
    stopRefresh();
    const mine = generation;
    refreshTimer = win.setTimeout(() => {
      if (mine === generation) void render();
    }, REFRESH_IN_MS);
  }

  // ---- the run list --------------------------------------------------------------------------------
  const FILTERS = ['kind', 'route', 'status', 'from', 'to', 'q'];

  function listQuery(params: URLSearchParams, withStatus = true): string {
    const out = new URLSearchParams();
    for (const name of FILTERS) {
      const v = params.get(name);
      if (!v || (!withStatus && name === 'status')) continue;
      // datetime-local inputs give local time without a zone: send it as an instant.
      out.set(name, (name === 'from' || name === 'to') && !/Z|[+-]\d\d:?\d\d$/.test(v) ? new Date(v).toISOString() : v);
    }
    return out.toString();
  }

  function runRow(r: RunSummary): El {
    const inputs = r.folder ? `${r.folder} (${r.inputCount} file${r.inputCount === 1 ? '' : 's'})` : r.inputs.join(', ') + (r.inputCount > r.inputs.length ? ` +${r.inputCount - r.inputs.length}` : '');
    return h(
      'tr',
      { 'data-run-id': r.runId, 'data-status': r.status },
      h('td', { class: 'id' }, runLink(r.runId), r.rerunOf ? h('div', { class: 'muted' }, 'rerun of ', runLink(r.rerunOf)) : null),
      h('td', null, r.kind),
      h('td', { class: 'nowrap' }, r.route ?? ''),
      h('td', null, badge(r.status), r.phase && !FINISHED.includes(r.status) ? h('div', { class: 'muted' }, r.phase) : null),
      h('td', null, r.model ? `${r.model.name}:${r.model.version ?? ''}${r.endpoint ? ` → ${r.endpoint}` : ''}` : r.kind === 'rollback' ? `endpoint ${r.endpoint ?? ''}` : inputs, r.reason ? h('div', { class: 'error-text' }, r.reason) : null),
      h('td', { class: 'nowrap' }, when(r.createdAt)),
      h('td', { class: 'nowrap' }, FINISHED.includes(r.status) ? duration(Date.parse(r.lastUpdatedAt) - Date.parse(r.createdAt)) : ''),
    );
  }

  function runsTable(rows: El[], caption: string): El {
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'runs' },
        h('caption', { class: 'visually-hidden' }, caption),
        h('thead', null, h('tr', null, ...['Run', 'Kind', 'Route', 'Status', 'Inputs', 'Created', 'Duration'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, ...rows),
      ),
    );
  }

  function filterForm(params: URLSearchParams): El {
    const field = (name: string, label: string, control: El): El => h('div', null, h('label', { for: `filter-${name}` }, label), control);
    const text = (name: string, type = 'text', placeholder = ''): El => h('input', { id: `filter-${name}`, name, type, value: params.get(name) ?? '', placeholder });
    const select = (name: string, options: string[]): El => {
      const s = h('select', { id: `filter-${name}`, name }, h('option', { value: '' }, 'any'), ...options.map((o) => h('option', { value: o, selected: params.get(name) === o }, o)));
      return s;
    };
    const auto = h('input', { id: 'auto-refresh', type: 'checkbox', checked: win.sessionStorage.getItem('batchpilot.autoRefresh') !== 'off' });
    auto.addEventListener('change', () => {
      win.sessionStorage.setItem('batchpilot.autoRefresh', auto.checked ? 'on' : 'off');
      void route();
    });
    return h(
      'form',
      {
        class: 'filters row',
        role: 'search',
        'aria-label': 'Filter runs',
        onsubmit: (e: Ev) => {
          e.preventDefault();
          const next = new URLSearchParams();
          for (const name of FILTERS) {
            const v = (doc.getElementById(`filter-${name}`)?.value ?? '').trim();
            if (v) next.set(name, v);
          }
          win.location.hash = `#/?${next.toString()}`;
        },
      },
      field('q', 'Search IDs and paths', text('q', 'search', 'run, blob path, job…')),
      field('kind', 'Kind', select('kind', ['blob', 'model', 'rollback'])),
      field('route', 'Route', text('route', 'text', 'route name')),
      field('status', 'Status', select('status', STATUSES)),
      field('from', 'Created from', text('from', 'datetime-local')),
      field('to', 'Created to', text('to', 'datetime-local')),
      h('div', null, h('button', { type: 'submit', class: 'primary', id: 'apply-filters' }, 'Apply'), ' ', h('a', { href: '#/' }, 'Clear')),
      h('label', { class: 'check', for: 'auto-refresh' }, auto, 'Auto-refresh every 10 s'),
    );
  }

  function countsBar(counts: RunCounts, params: URLSearchParams): El {
    const current = params.get('status') ?? '';
    const chip = (status: string, n: number): El =>
      h('li', null, h('button', {
        type: 'button',
        class: status ? `s-${status}` : '',
        'aria-pressed': current === status ? 'true' : 'false',
        onclick: () => {
          const next = new URLSearchParams(params);
          if (status) next.set('status', status);
          else next.delete('status');
          win.location.hash = `#/?${next.toString()}`;
        },
      }, `${status || 'All'} ${n}`));
    const entries = STATUSES.filter((s) => counts.byStatus[s as keyof RunCounts['byStatus']]).map((s) => chip(s, counts.byStatus[s as keyof RunCounts['byStatus']] ?? 0));
    // Counting stopped at the API's read limit: the numbers are lower bounds.
    const partial = counts.partial
      ? h('li', { class: 'muted', id: 'counts-partial', title: counts.note ?? 'The API reads a limited number of runs per request; narrow the dates for exact counts.' }, counts.completeSince ? `at least: complete for runs created since ${when(counts.completeSince)}` : 'at least')
      : null;
    return h('ul', { class: 'counts', id: 'counts', 'aria-label': 'Runs by status' }, chip('', counts.total), ...entries, partial);
  }

  function approvalsPanel(pending: RunSummary[], rerender: () => Promise<void>): El | null {
    if (!pending.length) return null;
    return h(
      'section',
      { class: 'callout pending', id: 'approvals', 'aria-labelledby': 'approvals-title' },
      h('h2', { id: 'approvals-title' }, `Pending approvals (${pending.length})`),
      h('ul', null, ...pending.map((r) => h('li', { 'data-run-id': r.runId },
        runLink(r.runId), ` ${r.model ? `${r.model.name}:${r.model.version ?? ''}` : r.route ?? ''} `,
        changeButton('Approve', 'approve', () => void act('Approve run', `Approve ${r.runId}: the model run continues past its gate (promotion).`, 'Approve', false, `/runs/${encodeURIComponent(r.runId)}/approve`, {}, () => { toast(`Approved ${r.runId}.`); void rerender(); })),
        ' ',
        changeButton('Reject', 'danger', () => void act('Reject run', `Reject ${r.runId}: the candidate is not promoted.`, 'Reject', true, `/runs/${encodeURIComponent(r.runId)}/reject`, {}, () => { toast(`Rejected ${r.runId}.`); void rerender(); })),
      ))),
    );
  }

  function operatorForms(rerender: () => Promise<void>): El {
    const target = h('input', { id: 'start-path', placeholder: 'input/single/file.csv or input/folder/', size: 40 });
    const kind = h('select', { id: 'start-kind' }, h('option', { value: 'blob' }, 'one blob'), h('option', { value: 'folder' }, 'a folder'));
    const before = h('input', { id: 'purge-before', type: 'date' });
    return h(
      'details',
      { class: 'panel' },
      h('summary', null, 'Start a run · purge history'),
      h('form', {
        class: 'row',
        onsubmit: (e: Ev) => {
          e.preventDefault();
          const path = target.value.trim();
          if (!path) return;
          void act('Start a run', `Score ${kind.value === 'folder' ? 'the folder' : 'the blob'} ${path} now.`, 'Start', false, '/runs', { [kind.value]: path }, (r) => {
            const started = (r.started as Array<{ runId: string }> | undefined) ?? [];
            toast(started.length ? `Started ${started.map((s) => s.runId).join(', ')}.` : 'Nothing new started.');
            void rerender();
          });
        },
      }, h('div', null, h('label', { for: 'start-kind' }, 'Score'), kind), h('div', null, h('label', { for: 'start-path' }, 'Path (<container>/<path>)'), target), changeButton('Start run…', 'primary')),
      h('form', {
        class: 'row',
        onsubmit: (e: Ev) => {
          e.preventDefault();
          if (!before.value) return;
          void act('Purge history', `Delete the Durable history of finished runs created before ${before.value}. Run records and the audit trail are kept.`, 'Purge', true, '/purge', { before: before.value }, (r) => {
            toast(`Purged ${String(r.instancesDeleted)} instance(s).`);
            void rerender();
          });
        },
      }, h('div', null, h('label', { for: 'purge-before' }, 'Purge finished history created before'), before), changeButton('Purge…', 'danger')),
    );
  }

  async function renderList(params: URLSearchParams): Promise<void> {
    const mine = generation;
    const query = listQuery(params);
    const withoutStatus = listQuery(params, false);
    const [page, counts, pending] = await Promise.all([
      api<RunListPage>(`/runs?${query}${query ? '&' : ''}top=50`),
      api<RunCounts>(`/counts?${withoutStatus}`),
      api<RunListPage>('/runs?status=AwaitingApproval&top=20'),
    ]);
    if (mine !== generation) return;
    const rerender = (): Promise<void> => renderList(params);
    const rows = page.runs.map(runRow);
    const body = runsTable(rows, 'Runs, newest first');
    let token = page.continuationToken;
    // A partial page stopped at the API's read limit: older matching runs may exist further back.
    const searched = (p: RunListPage): string => (p.partial ? `Searched runs created since ${when(p.searchedBackTo)}; older ones are not looked at yet.` : '');
    const progress = h('p', { class: 'muted', id: 'searched', hidden: !page.partial }, searched(page));
    const more = h('button', { type: 'button', id: 'more', hidden: !token }, page.partial ? 'Search further back' : 'Load older runs');
    more.addEventListener('click', () => {
      if (!token) return;
      void api<RunListPage>(`/runs?${query}${query ? '&' : ''}top=50&continuationToken=${encodeURIComponent(token)}`).then((next) => {
        const tbody = body.querySelector('tbody')!;
        next.runs.forEach((r) => tbody.appendChild(runRow(r)));
        if (next.runs.length) doc.getElementById('no-runs')?.replaceWith(body);
        token = next.continuationToken;
        more.hidden = !token;
        more.textContent = next.partial ? 'Search further back' : 'Load older runs';
        progress.hidden = !next.partial;
        progress.textContent = searched(next);
      }, (err: Error) => toast(err.message, true));
    });
    doc.title = 'batchpilot · runs';
    main.replaceChildren(
      h('h1', null, 'Runs'),
      // Lists and counts read the Durable instance store until the run index is filled: say so.
      page.note ? h('p', { class: 'muted', id: 'source-note' }, page.note) : '',
      approvalsPanel(pending.runs, rerender) ?? '',
      filterForm(params),
      countsBar(counts, params),
      page.runs.length ? body : h('p', { id: 'no-runs' }, page.partial ? 'No matching runs found yet.' : 'No runs match these filters.'),
      progress,
      more,
      operatorForms(rerender),
    );
    if (win.sessionStorage.getItem('batchpilot.autoRefresh') !== 'off') scheduleRefresh(rerender);
  }

  // ---- one run ---------------------------------------------------------------------------------------
  function flatten(steps: RunStep[], depth = 0): Array<{ step: RunStep; depth: number }> {
    return steps.flatMap((s) => [{ step: s, depth }, ...flatten(s.children ?? [], depth + 1)]);
  }

  function timeline(steps: RunStep[], createdAt: string): El {
    // Timers that lost their race (the awaited event came first) only clutter a timeline.
    const all = flatten(steps).filter((x) => x.step.startedAt && !(x.step.kind === 'timer' && /superseded/.test(x.step.detail ?? '')));
    const start = Math.min(Date.parse(createdAt), ...all.map((x) => Date.parse(x.step.startedAt!)));
    const end = Math.max(start + 1, ...all.map((x) => Date.parse(x.step.endedAt ?? x.step.startedAt!)), ...all.filter((x) => x.step.status === 'running' || x.step.status === 'waiting').map(() => Date.now()));
    const span = end - start;
    return h('ol', { class: 'timeline', id: 'timeline', 'aria-label': 'Timeline of steps' }, ...all.map(({ step, depth }) => {
      const s = Date.parse(step.startedAt!);
      const e = step.endedAt ? Date.parse(step.endedAt) : step.status === 'running' || step.status === 'waiting' ? end : s;
      const bar = h('span', { class: `bar ${step.status}${step.kind === 'timer' ? ' timer' : ''}`, title: `${step.name}: ${when(step.startedAt)} → ${when(step.endedAt)} (${duration(step.durationInMs)})` });
      bar.style.setProperty('left', `${(((s - start) / span) * 100).toFixed(2)}%`);
      bar.style.setProperty('width', `${Math.max(0.4, ((e - s) / span) * 100).toFixed(2)}%`);
      return h('li', { class: depth ? 'child' : undefined }, h('span', { class: 'label' }, step.kind === 'subRun' && step.detail ? `${step.name} · ${step.detail}` : step.name, h('span', { class: 'visually-hidden' }, ` ${step.status} ${duration(step.durationInMs)}`)), h('span', { class: 'track', 'aria-hidden': 'true' }, bar));
    }));
  }

  function historyTable(steps: RunStep[]): El {
    const rows = flatten(steps).map(({ step, depth }, i) =>
      h('tr', { class: `${depth ? 'child' : ''} ${step.status === 'failed' && !step.retried ? 'failed' : ''}`.trim() || undefined, 'data-step': step.name, 'data-status': step.status },
        h('td', null, `${depth ? '↳ ' : ''}${step.name}`, step.instanceId && depth === 0 ? h('div', { class: 'muted id' }, step.instanceId) : null),
        h('td', null, step.kind),
        h('td', null, badge(step.status), step.retried ? h('div', { class: 'muted' }, 'retried') : null),
        h('td', { class: 'nowrap' }, when(step.startedAt)),
        h('td', { class: 'nowrap' }, when(step.endedAt)),
        h('td', { class: 'nowrap' }, duration(step.durationInMs)),
        h('td', { class: step.failure ? 'error-text' : 'muted' }, step.failure ?? step.detail ?? ''),
        h('td', { class: 'visually-hidden' }, String(i + 1)),
      ));
    return h('div', { class: 'table-wrap' }, h('table', { id: 'history' }, h('caption', { class: 'visually-hidden' }, 'History'), h('thead', null, h('tr', null, ...['Step', 'Kind', 'Status', 'Started', 'Ended', 'Duration', 'Detail or failure'].map((c) => h('th', { scope: 'col' }, c)))), h('tbody', null, ...rows)));
  }

  function jobsTable(jobs: RunJob[]): El {
    if (!jobs.length) return h('p', { class: 'muted' }, 'No Azure ML job yet.');
    return h('div', { class: 'table-wrap' }, h('table', { id: 'jobs' },
      h('thead', null, h('tr', null, ...['Job', 'Attempt', 'Status', 'Started', 'Ended', 'Outputs', 'Error'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, ...jobs.map((j) => h('tr', null,
        h('td', { class: 'id' }, link(j.studioUrl, j.jobName), j.studioUrl ? h('div', { class: 'muted' }, 'opens Azure ML Studio') : null),
        h('td', null, j.attempt !== undefined ? String(j.attempt) : ''),
        h('td', null, j.status ? badge(j.status) : '', j.lookupError ? h('div', { class: 'error-text' }, j.lookupError) : null),
        h('td', null, when(j.startTime)),
        h('td', null, when(j.endTime)),
        h('td', { class: 'id' }, j.output ? link(j.output.blobUrl, j.output.uri) : ''),
        h('td', { class: 'error-text' }, j.error ?? ''),
      )))));
  }

  function facts(pairs: Array<[string, Child]>): El {
    return h('dl', { class: 'facts' }, ...pairs.filter(([, v]) => v !== undefined && v !== '' && v !== null).flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
  }

  function jsonBlock(title: string, value: unknown, open = false): El {
    return h('details', { open }, h('summary', null, title), h('pre', null, json(value)));
  }

  function approvalCallout(detail: unknown): El {
    const cs = (detail ?? {}) as { comparison?: { passed?: boolean; summary?: string }; approvalDeadline?: string; candidateDeployment?: string };
    return h('section', { class: 'callout pending', id: 'approval', 'aria-labelledby': 'approval-title' },
      h('h2', { id: 'approval-title' }, 'Waiting for approval'),
      h('p', null, `This run waits at its approval gate${cs.candidateDeployment ? ` with candidate deployment ${cs.candidateDeployment}` : ''}. Approve to promote it, reject to stop.`),
      cs.comparison?.summary ? h('p', null, `Comparison ${cs.comparison.passed ? 'passed' : 'FAILED'}: ${cs.comparison.summary}`) : null,
      cs.approvalDeadline ? h('p', { class: 'muted' }, `Decide before ${when(cs.approvalDeadline)}; after that the route's timeout policy applies.`) : null);
  }

  async function renderRun(runId: string): Promise<void> {
    const mine = generation;
    const d = await api<RunDetail>(`/runs/${encodeURIComponent(runId)}`);
    if (mine !== generation) return;
    const s = d.summary;
    const rerender = (): Promise<void> => renderRun(runId);
    const finished = FINISHED.includes(s.status);
    const path = `/runs/${encodeURIComponent(runId)}`;
    const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' },
      !finished ? changeButton('Terminate…', 'danger', () => void act('Terminate run', `Terminate ${runId} and cancel its Azure ML job. This cannot be undone.`, 'Terminate', true, `${path}/terminate`, {}, (r) => { toast(`Terminated ${runId}${(r.cancelledJobs as string[] | undefined)?.length ? `; cancelled ${(r.cancelledJobs as string[]).join(', ')}` : ''}.`); void rerender(); })) : null,
      finished ? changeButton('Rerun…', 'primary', () => void act('Rerun', `Start a new run with the same input as ${runId}.`, 'Rerun', false, `${path}/rerun`, {}, (r) => { toast(`Started ${String(r.newRunId)}.`); win.location.hash = `#/runs/${encodeURIComponent(String(r.newRunId))}`; })) : null,
      d.approval?.awaiting ? changeButton('Approve…', 'approve', () => void act('Approve run', `Approve ${runId}: the model run continues past its gate.`, 'Approve', false, `${path}/approve`, {}, () => { toast(`Approved ${runId}.`); void rerender(); })) : null,
      s.kind === 'model' && s.status === 'Promoted' && s.endpoint ? changeButton('Roll back endpoint…', 'danger', () => void act('Roll back', `Restore the default deployment ${s.endpoint} had before its latest promotion.`, 'Roll back', true, '/rollbacks', { endpoint: s.endpoint }, (r) => { toast(`Rollback ${String(r.rollbackRunId)} ${r.started ? 'started' : 'was already requested'}.`); win.location.hash = `#/runs/${encodeURIComponent(String(r.rollbackRunId))}`; })) : null,
      d.approval?.awaiting ? changeButton('Reject…', 'danger', () => void act('Reject run', `Reject ${runId}: the candidate is not promoted.`, 'Reject', true, `${path}/reject`, {}, () => { toast(`Rejected ${runId}.`); void rerender(); })) : null,
    );
    const succeeded = s.status === 'Completed' || s.status === 'Promoted';
    const failureTitle = d.failedStep ? `Failed at step: ${d.failedStep.name}` : s.status;
    const failureText = d.failedStep?.failure ?? s.reason;
    const failure = finished && !succeeded && failureText
      ? h('section', { class: 'callout', id: 'failure', role: 'alert', 'aria-labelledby': 'failure-title' }, h('h2', { id: 'failure-title' }, failureTitle), h('p', { id: 'failure-reason' }, failureText))
      : null;
    const reports = d.reports.length
      ? h('div', null, ...d.reports.map((r) => h('div', { class: 'panel', 'data-report': r.name },
        h('h3', null, `${r.name} `, r.passed === undefined ? '' : badge(r.passed ? 'Completed' : 'Failed')),
        r.summary ? h('p', null, r.summary) : null,
        r.location ? h('p', { class: 'muted id' }, r.location) : null,
        r.readError ? h('p', { class: 'error-text' }, r.readError) : null,
        r.content !== undefined ? jsonBlock('Full report', r.content) : null)))
      : h('p', { class: 'muted' }, 'No reports.');
    doc.title = `batchpilot · ${runId}`;
    main.replaceChildren(
      h('p', null, h('a', { href: '#/' }, '← All runs')),
      h('h1', null, runId),
      facts([
        ['Status', h('span', { id: 'run-status' }, badge(s.status), s.phase && !finished ? ` ${s.phase}` : '')],
        ['Kind', `${s.kind} (${s.orchestration})`],
        ['Route', s.route],
        ['Model', s.model ? `${s.model.name}:${s.model.version ?? ''}` : undefined],
        ['Endpoint', s.endpoint],
        ['Inputs', s.folder ? `${s.folder} (${s.inputCount} files)` : s.inputs.join(', ') || undefined],
        ['Created', when(s.createdAt)],
        ['Last updated', when(s.lastUpdatedAt)],
        ['Rerun of', s.rerunOf ? runLink(s.rerunOf) : undefined],
        ['Reruns', d.reruns.length ? h('span', null, ...d.reruns.flatMap((id, i) => [i ? ', ' : '', runLink(id)])) : undefined],
        ['Outputs', d.outputLocation ? link(d.outputLocation.blobUrl, d.outputLocation.uri) : undefined],
      ]),
      failure ?? '',
      d.approval?.awaiting ? approvalCallout(d.approval.detail) : '',
      actions,
      h('h2', null, 'Timeline'),
      timeline(d.steps, s.createdAt),
      h('h2', null, 'History'),
      historyTable(d.steps),
      h('h2', null, 'Azure ML jobs'),
      jobsTable(d.jobs),
      h('h2', null, 'Reports'),
      reports,
      h('h2', null, 'Events emitted'),
      d.events.length ? h('ul', { id: 'events' }, ...d.events.map((e) => h('li', null, h('code', null, e.type), ` ${e.subject ?? ''} `, h('span', { class: 'muted' }, `${when(e.at)} · id ${e.id}`)))) : h('p', { class: 'muted' }, 'None yet.'),
      h('h2', null, 'Operator actions'),
      d.audit.length ? auditTable(d.audit) : h('p', { class: 'muted' }, 'None.'),
      h('h2', null, 'Data'),
      jsonBlock('Custom status', d.customStatus),
      jsonBlock('Input', d.input),
      jsonBlock('Output', d.output),
      d.runRecord ? jsonBlock(`Run record (${d.runRecord.location})`, d.runRecord.content) : '',
    );
    if (!finished) scheduleRefresh(rerender);
  }

  // ---- audit -------------------------------------------------------------------------------------------
  function auditTable(records: AuditRecord[]): El {
    return h('div', { class: 'table-wrap' }, h('table', { id: 'audit' },
      h('thead', null, h('tr', null, ...['When', 'Action', 'Run', 'By', 'Reason', 'Outcome'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, ...records.map((a) => h('tr', null,
        h('td', null, when(a.at)),
        h('td', null, a.action),
        h('td', { class: 'id' }, a.runId ? runLink(a.runId) : ''),
        h('td', null, a.by.name, a.by.via === 'principal' && a.by.roles.length ? h('div', { class: 'muted' }, a.by.roles.join(', ')) : null),
        h('td', null, a.reason),
        h('td', { class: a.outcome === 'failed' ? 'error-text' : undefined }, a.outcome, a.error ? h('div', null, a.error) : null),
      )))));
  }

  async function renderAudit(): Promise<void> {
    const { records } = await api<{ records: AuditRecord[] }>('/audit?top=200');
    doc.title = 'batchpilot · audit trail';
    const verify = h('button', { type: 'button', id: 'verify-audit' }, 'Check the chain');
    const verdict = h('p', { id: 'audit-verdict', role: 'status' });
    verify.addEventListener('click', () => {
      verify.disabled = true;
      void api<AuditVerification>('/audit/verify').then(
        (r) => {
          verdict.className = r.ok ? '' : 'error-text';
          verdict.textContent = r.ok
            ? `Intact: records ${r.fromSeq}–${r.toSeq} of ${r.headSeq} each match their hash and link to the one before.${r.nextFromSeq ? ' (Checked in part: use the CLI for the rest.)' : ''}`
            : `Not intact: ${r.problems.map((p) => `record ${p.seq}: ${p.problem}`).join('; ')}`;
          verify.disabled = false;
        },
        (err: Error) => {
          toast(err.message, true);
          verify.disabled = false;
        },
      );
    });
    main.replaceChildren(h('h1', null, 'Audit trail'), h('p', { class: 'muted' }, 'Every change made through the operator API, newest first. Records are written once and chained by their hashes.'), h('div', { class: 'row' }, verify, verdict), records.length ? auditTable(records) : h('p', null, 'No operator actions yet.'));
  }

  // ---- route health ----------------------------------------------------------------------------------------
  const SVG_NS = 'http://www.w3.org/2000/svg';

  /** An SVG element; attributes only (the page's CSP refuses inline styles). */
  function svg(tag: string, attrs: Record<string, string | number>, ...children: Array<El | string>): El {
    const el = doc.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
    for (const c of children) el.appendChild(typeof c === 'string' ? doc.createTextNode(c) : c);
    return el;
  }

  function percent(ratio: number | undefined): string {
    return ratio === undefined ? '—' : `${(ratio * 100).toFixed(ratio === 0 || ratio >= 0.9995 ? 0 : 1)} %`;
  }

  function objectiveValue(o: Pick<ObjectiveAttainment, 'name'>, value: number | undefined): string {
    if (value === undefined) return '—';
    return o.name === 'p95DurationInMinutes' ? `${value} min` : percent(value);
  }

  function verdict(met: boolean | undefined, none = 'no runs'): El {
    return met === undefined ? h('span', { class: 'badge s-idle' }, none) : met ? h('span', { class: 'badge s-Completed' }, 'met') : h('span', { class: 'badge s-Failed' }, 'missed');
  }

  const OBJECTIVE_LABELS: Record<ObjectiveAttainment['name'], string> = { successRate: 'Success rate', p95DurationInMinutes: 'p95 duration', maxFailedFileRatio: 'Worst failed-file ratio' };

  function objectivesTable(r: RouteHealth): El {
    const cell = (p: PeriodHealth, name: ObjectiveAttainment['name']): El => {
      const o = p.objectives.find((x) => x.name === name);
      return h('td', null, o ? objectiveValue(o, o.actual) : '—', ' ', o ? verdict(o.met) : null, o?.runsOver ? h('div', { class: 'muted' }, `${o.runsOver} run(s) over`) : null);
    };
    const names = r.last24h.objectives.map((o) => o.name);
    return h('div', { class: 'table-wrap' }, h('table', { class: 'objectives' },
      h('thead', null, h('tr', null, ...['Objective', 'Target', 'Last 24 h', `Last ${r.window}`].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null,
        ...names.map((name) => {
          const o = r.last24h.objectives.find((x) => x.name === name)!;
          return h('tr', { 'data-objective': name }, h('th', { scope: 'row' }, OBJECTIVE_LABELS[name]), h('td', null, objectiveValue(o, o.objective)), cell(r.last24h, name), cell(r.overWindow, name));
        }),
        h('tr', { 'data-objective': 'burnRate' }, h('th', { scope: 'row' }, 'Error-budget burn rate'), h('td', null, '≤ 1×'),
          h('td', { class: (r.last24h.burnRate ?? 0) > 2 ? 'error-text' : undefined }, r.last24h.burnRate === undefined ? '—' : `${r.last24h.burnRate}×`),
          h('td', { class: (r.overWindow.burnRate ?? 0) > 1 ? 'error-text' : undefined }, r.overWindow.burnRate === undefined ? '—' : `${r.overWindow.burnRate}×`)),
      )));
  }

  /** Bars: p95 duration per hour or day (scaled to the largest); line: success rate (0–100 %). */
  function trendChart(route: string, points: TrendPoint[]): El {
    const width = 480;
    const height = 120;
    const pad = 4;
    const n = Math.max(points.length, 1);
    const step = (width - 2 * pad) / n;
    const longest = Math.max(0, ...points.map((p) => p.p95DurationInMinutes ?? 0));
    const bars = points.map((p, i) => {
      const value = p.p95DurationInMinutes ?? 0;
      const barHeight = longest > 0 ? Math.max(value > 0 ? 2 : 0, (value / longest) * (height - 2 * pad)) : 0;
      return svg('rect', { class: 'duration', x: (pad + i * step + step * 0.15).toFixed(1), y: (height - pad - barHeight).toFixed(1), width: Math.max(1, step * 0.7).toFixed(1), height: barHeight.toFixed(1) },
        svg('title', {}, `${when(p.from)}: ${p.runs} run(s), p95 ${p.p95DurationInMinutes ?? '—'} min, success ${percent(p.successRate)}`));
    });
    const at = points
      .map((p, i) => (p.successRate === undefined ? undefined : { x: (pad + (i + 0.5) * step).toFixed(1), y: (pad + (1 - p.successRate) * (height - 2 * pad)).toFixed(1), p }))
      .filter((x): x is { x: string; y: string; p: TrendPoint } => x !== undefined);
    const line = at.map((a) => `${a.x},${a.y}`);
    // A dot per period with runs: a single period draws no line.
    const dots = at.map((a) => svg('circle', { class: 'success-point', cx: a.x, cy: a.y, r: 3 }, svg('title', {}, `${when(a.p.from)}: success ${percent(a.p.successRate)}`)));
    const withRuns = points.filter((p) => p.runs > 0).length;
    const label = `Trend for ${route}: ${withRuns} of ${points.length} periods had runs; bars are p95 duration (longest ${longest} min), the line is the success rate.`;
    return svg('svg', { class: 'trend', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label, 'data-points': points.length },
      svg('rect', { class: 'frame', x: 0, y: 0, width, height }),
      ...bars,
      line.length ? svg('polyline', { class: 'success', points: line.join(' ') }) : svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'empty' }, 'no finished runs in this window'),
      ...dots,
    );
  }

  function routeHealthSection(r: RouteHealth): El {
    const overall = r.slo ? verdict(r.overWindow.attained === false || r.last24h.attained === false ? false : r.overWindow.attained ?? r.last24h.attained) : h('span', { class: 'badge s-idle' }, 'no slo');
    const facts_ = [
      `${r.last24h.runs} run(s) in 24 h, ${r.overWindow.runs} in ${r.window}`,
      r.stuckRuns ? `${r.stuckRuns} stuck past the timeout` : undefined,
      r.lastRun ? `last: ${r.lastRun.outcome} ${when(r.lastRun.finishedAt)}` : undefined,
      r.lastRun?.drift ? `drift ${r.lastRun.drift.detected ? 'DETECTED' : 'none'} (PSI ${r.lastRun.drift.psi ?? '—'}, KS ${r.lastRun.drift.ks ?? '—'})` : undefined,
      r.truncated ? 'figures cover the newest runs only (read limit)' : undefined,
    ].filter((x): x is string => x !== undefined);
    return h('section', { class: 'panel route-health', 'data-route': r.route, 'aria-labelledby': `health-${r.route}` },
      h('h2', { id: `health-${r.route}` }, h('a', { href: `#/?route=${encodeURIComponent(r.route)}` }, r.route), ' ', overall, ' ', h('span', { class: 'muted' }, r.kind)),
      h('p', { class: 'muted' }, facts_.join(' · ')),
      r.slo ? objectivesTable(r) : h('p', null, `Success ${percent(r.overWindow.successRate)}, p95 ${r.overWindow.p95DurationInMinutes ?? '—'} min over ${r.window}.${r.kind === 'blob' ? ' Add an slo: section to the route to judge it.' : ''}`),
      trendChart(r.route, r.trend),
      h('p', { class: 'muted legend' }, `Per ${r.trend.length > 1 && Date.parse(r.trend[1].from) - Date.parse(r.trend[0].from) >= 86_400_000 ? 'day' : 'hour'}, oldest left: bars are the p95 duration (tallest ${Math.max(0, ...r.trend.map((p) => p.p95DurationInMinutes ?? 0))} min), the line is the success rate (top 100 %).`),
    );
  }

  async function renderHealth(): Promise<void> {
    const mine = generation;
    const health = await api<RouteHealthResponse>('/health');
    if (mine !== generation) return;
    doc.title = 'batchpilot · route health';
    main.replaceChildren(
      h('h1', null, 'Route health'),
      h('p', { class: 'muted' }, `Service level objectives from each route's slo: section, judged from the runs that finished over the last 24 hours and over the route's window; as of ${when(health.asOf)}. A burn rate of 1× spends the error budget exactly over the window; the alert fires above 2×.`),
      ...(health.routes.length ? health.routes.map(routeHealthSection) : [h('p', null, 'No routes are configured.')]),
    );
    if (win.sessionStorage.getItem('batchpilot.autoRefresh') !== 'off') scheduleRefresh(renderHealth);
  }

  // ---- routing --------------------------------------------------------------------------------------------
  async function route(): Promise<void> {
    generation++;
    stopRefresh();
    if (!win.sessionStorage.getItem(KEY_ITEM) || keyNotice) return showKeyForm();
    try {
      if (!caller) await loadCaller();
      const hash = win.location.hash.replace(/^#/, '') || '/';
      const [path, query] = hash.split('?');
      const run = /^\/runs\/(.+)$/.exec(path);
      if (run) await renderRun(decodeURIComponent(run[1]));
      else if (path === '/audit') await renderAudit();
      else if (path === '/health') await renderHealth();
      else await renderList(new URLSearchParams(query ?? ''));
    } catch (err) {
      showError(err);
    }
  }

  takeKeyFromUrl();
  win.addEventListener('hashchange', () => {
    // A key pasted into the address of an open tab arrives as a hash change.
    if (FRAGMENT_KEY.test(win.location.hash)) takeKeyFromUrl();
    void route().then(() => main.focus());
  });
  void route();
}
