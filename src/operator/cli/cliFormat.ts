// How the CLI prints for people: aligned tables, a run's facts, its failing step, steps, jobs, outputs,
// reports and events. Scripts use --json instead and get the API's own documents.
import type { PeriodHealth, RouteHealthResponse, RunDetail, RunStep, RunSummary } from '../operatorApiTypes';

/** Left-aligned columns; long cells are cut with … so a row stays on one line. */
export function table(headers: string[], rows: string[][], maxCell = 60): string {
  const cut = (s: string): string => (s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s);
  const all = [headers, ...rows.map((r) => r.map((c) => cut(c ?? '')))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

export function time(iso: string | undefined): string {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${Math.round(s % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}

function inputsOf(r: RunSummary): string {
  if (r.model) return `${r.model.name}:${r.model.version ?? ''}${r.endpoint ? ` → ${r.endpoint}` : ''}`;
  if (r.kind === 'rollback') return r.endpoint ?? '';
  if (r.folder) return `${r.folder} (${r.inputCount})`;
  return r.inputs.join(', ') + (r.inputCount > r.inputs.length ? ` +${r.inputCount - r.inputs.length}` : '');
}

export function runsTable(runs: RunSummary[]): string {
  return table(
    ['RUN', 'KIND', 'ROUTE', 'STATUS', 'CREATED', 'INPUTS'],
    runs.map((r) => [r.runId, r.kind, r.route ?? '', r.status, time(r.createdAt), inputsOf(r)]),
    80,
  );
}

function flatten(steps: RunStep[], depth = 0): Array<{ s: RunStep; depth: number }> {
  return steps.flatMap((s) => [{ s, depth }, ...flatten(s.children ?? [], depth + 1)]);
}

export function runReport(d: RunDetail): string {
  const s = d.summary;
  const lines: string[] = [];
  const fact = (k: string, v: string | undefined): void => {
    if (v) lines.push(`${`${k}:`.padEnd(14)}${v}`);
  };
  fact('Run', s.runId);
  fact('Status', `${s.status}${s.phase && !['Completed', 'Failed', 'ValidationFailed', 'Terminated'].includes(s.status) ? ` (${s.phase})` : ''}`);
  fact('Kind', `${s.kind} (${s.orchestration})`);
  fact('Route', s.route);
  fact('Model', s.model ? `${s.model.name}:${s.model.version ?? ''}` : undefined);
  fact('Endpoint', s.endpoint);
  fact('Inputs', inputsOf(s));
  fact('Created', time(s.createdAt));
  fact('Updated', time(s.lastUpdatedAt));
  fact('Rerun of', s.rerunOf);
  fact('Reruns', d.reruns.join(', '));
  fact('Outputs', d.outputLocation ? `${d.outputLocation.uri}${d.outputLocation.blobUrl ? `\n${''.padEnd(14)}${d.outputLocation.blobUrl}` : ''}` : undefined);
  if (d.failedStep) lines.push('', `FAILED AT ${d.failedStep.name}: ${d.failedStep.failure}`);
  else if (s.reason) lines.push('', `${s.status.toUpperCase()}: ${s.reason}`);
  if (d.approval?.awaiting) lines.push('', 'WAITING FOR APPROVAL: batchpilot runs approve|reject <runId> --reason "..."');
  lines.push('', 'Steps', table(['STEP', 'KIND', 'STATUS', 'STARTED', 'DURATION', 'DETAIL'], flatten(d.steps).map(({ s: st, depth }) => [`${'  '.repeat(depth)}${st.name}`, st.kind, st.status + (st.retried ? ' (retried)' : ''), time(st.startedAt), duration(st.durationInMs), st.failure ?? st.detail ?? '']), 100));
  if (d.jobs.length) lines.push('', 'Azure ML jobs', table(['JOB', 'ATTEMPT', 'STATUS', 'STUDIO'], d.jobs.map((j) => [j.jobName, j.attempt === undefined ? '' : String(j.attempt), j.status ?? '', j.studioUrl ?? j.lookupError ?? '']), 200));
  for (const r of d.reports) lines.push('', `Report ${r.name}: ${r.passed === undefined ? '' : r.passed ? 'passed' : 'FAILED'}${r.summary ? ` — ${r.summary}` : ''}${r.location ? ` (${r.location})` : ''}`);
  if (d.events.length) lines.push('', 'Events', ...d.events.map((e) => `  ${e.type}  ${e.subject ?? ''}  ${time(e.at)}`));
  if (d.audit.length) lines.push('', 'Operator actions', table(['WHEN', 'ACTION', 'BY', 'OUTCOME', 'REASON'], d.audit.map((a) => [time(a.at), a.action, a.by.name, a.outcome, a.reason]), 80));
  return lines.join('\n');
}

function percentText(ratio: number | undefined): string {
  return ratio === undefined ? '—' : `${(ratio * 100).toFixed(ratio >= 0.9995 || ratio === 0 ? 0 : 1)}%`;
}

function objectiveText(p: PeriodHealth): string {
  if (p.objectives.length === 0) return 'no slo';
  return p.objectives
    .map((o) => {
      const mark = o.met === undefined ? '?' : o.met ? 'ok' : 'MISSED';
      const actual = o.actual === undefined ? '—' : o.name === 'p95DurationInMinutes' ? `${o.actual}m` : percentText(o.actual);
      const target = o.name === 'p95DurationInMinutes' ? `${o.objective}m` : percentText(o.objective);
      const label = o.name === 'successRate' ? 'success' : o.name === 'p95DurationInMinutes' ? 'p95' : 'failed files';
      return `${label} ${actual}/${target} ${mark}`;
    })
    .join(', ');
}

/** `batchpilot routes health`: one row per route, 24 h and window side by side, then what is wrong. */
export function routeHealthTable(health: RouteHealthResponse): string {
  if (health.routes.length === 0) return 'No routes are configured.';
  const rows = health.routes.map((r) => [
    r.route,
    r.last24h.attained === undefined ? (r.slo ? 'no runs' : '—') : r.last24h.attained ? 'met' : 'MISSED',
    `${r.last24h.runs} (${percentText(r.last24h.successRate)})`,
    r.last24h.burnRate === undefined ? '—' : `${r.last24h.burnRate}×`,
    `${r.window}: ${r.overWindow.attained === undefined ? (r.slo ? 'no runs' : '—') : r.overWindow.attained ? 'met' : 'MISSED'}`,
    `${r.overWindow.runs} (${percentText(r.overWindow.successRate)})`,
    r.overWindow.burnRate === undefined ? '—' : `${r.overWindow.burnRate}×`,
    r.stuckRuns === undefined ? '—' : String(r.stuckRuns),
    r.lastRun?.drift ? `${r.lastRun.drift.detected ? 'DRIFT ' : ''}psi ${r.lastRun.drift.psi ?? '—'}` : '—',
  ]);
  const details = health.routes
    .filter((r) => r.slo)
    .map((r) => `${r.route}: last 24 h ${objectiveText(r.last24h)}; ${r.window} ${objectiveText(r.overWindow)}${r.truncated ? ' (newest runs only: the read hit its limit)' : ''}`);
  return `${table(['ROUTE', 'SLO 24H', 'RUNS 24H', 'BURN 24H', 'SLO WINDOW', 'RUNS WINDOW', 'BURN WINDOW', 'STUCK', 'DRIFT (LAST RUN)'], rows, 40)}${details.length ? `\n\n${details.join('\n')}` : ''}`;
}
