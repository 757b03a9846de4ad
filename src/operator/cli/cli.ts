#!/usr/bin/env node
// `batchpilot runs list|show|terminate|rerun|approve|reject|start|rollback|purge`, `batchpilot routes
// health` and `batchpilot audit verify`: the operator API from a terminal. Talks to the local stack by default (host on 7071, key from .local/host/keys.json); to an
// Azure app with --url and a function key (--key / BATCHPILOT_FUNCTION_KEY) and/or an Entra token
// (--token-scope). Tables for people, --json for scripts. Exit codes: 0 done, 1 refused or failed,
// 2 bad usage, 3 the API could not be reached.
import { parseArgs } from 'node:util';
import * as readline from 'node:readline/promises';
import { ApiCallError, ApiUnreachableError, OperatorApiClient, resolveTarget } from './operatorApiClient';
import { routeHealthTable, runReport, runsTable, table } from './cliFormat';
import type { ActionResult, AuditVerification, RunDetail, RunSummary } from '../operatorApiTypes';
import { FINISHED_STATUSES } from '../operatorApiTypes';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

const USAGE = `Usage: batchpilot runs <command> [options]
       batchpilot routes health [--route NAME]  per route: SLO attainment over 24 h and its window, error-budget
                                                burn rate, stuck runs, drift (exit 1 if an objective is missed)
       batchpilot audit verify [--from-seq N]   check the audit trail's hash chain (exit 1 if it was tampered with)

Commands:
  list                      runs, newest first
      [--kind blob|model|rollback] [--route NAME] [--status S[,S]] [--from DATE] [--to DATE]
      [--q TEXT] [--top N] [--all] [--continuation TOKEN]
  show <runId>              one run: status, failing step, steps, jobs, outputs, reports, events
  terminate <runId> --reason TEXT [--yes]     stop a running run and cancel its Azure ML job
  rerun <runId> --reason TEXT [--wait]        a new run with the same input
  approve <runId> --reason TEXT               let a model run past its approval gate
  reject <runId> --reason TEXT                stop a model run at its approval gate
  start (--blob C/PATH | --folder C/FOLDER/) --reason TEXT [--wait]
                            score a blob or a folder now
  rollback --endpoint NAME --reason TEXT [--wait]
                            restore the default deployment an endpoint had before its latest promotion
  purge --before DATE --reason TEXT [--yes]   delete Durable history of finished runs created before DATE
  backfill-index --reason TEXT                write runs from before the run index into it (resumes; safe to repeat)

Where and who:
  --url URL             the app (default: the local stack, ${'http://127.0.0.1:7071'}; env BATCHPILOT_URL)
  --key KEY             a function key (env BATCHPILOT_FUNCTION_KEY; local: .local/host/keys.json)
  --token-scope SCOPE   also send an Entra token for SCOPE, e.g. api://<app-id>/.default (env BATCHPILOT_TOKEN_SCOPE)
  --state-dir DIR       the local stack's state folder (default: .local above the current folder)
  --as NAME             the name recorded in audit records (default: your user@host)
  --json                machine-readable output
  --timeout SECONDS     how long --wait waits (default 600)

Exit codes: 0 done, 1 refused or failed (or the awaited run did not complete), 2 bad usage, 3 API unreachable.`;

class UsageError extends Error {}

const OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  'token-scope': { type: 'string' },
  'state-dir': { type: 'string' },
  as: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  kind: { type: 'string' },
  route: { type: 'string' },
  status: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  q: { type: 'string' },
  top: { type: 'string' },
  all: { type: 'boolean' },
  continuation: { type: 'string' },
  reason: { type: 'string' },
  blob: { type: 'string' },
  folder: { type: 'string' },
  before: { type: 'string' },
  endpoint: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  yes: { type: 'boolean' },
  'from-seq': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>['values'];

const COMMON = ['url', 'key', 'token-scope', 'state-dir', 'as', 'json', 'help'];
const ALLOWED: Record<string, string[]> = {
  list: ['kind', 'route', 'status', 'from', 'to', 'q', 'top', 'all', 'continuation'],
  show: [],
  terminate: ['reason', 'yes'],
  rerun: ['reason', 'wait', 'timeout'],
  approve: ['reason'],
  reject: ['reason'],
  start: ['blob', 'folder', 'reason', 'wait', 'timeout'],
  rollback: ['endpoint', 'reason', 'wait', 'timeout'],
  purge: ['before', 'reason', 'yes'],
  'backfill-index': ['reason'],
};

interface Output {
  out(text: string): void;
  err(text: string): void;
}

function needRunId(positionals: string[], command: string): string {
  const runId = positionals[2];
  if (!runId) throw new UsageError(`'runs ${command}' needs a run ID: batchpilot runs ${command} <runId>`);
  if (positionals.length > 3) throw new UsageError(`Unexpected argument '${positionals[3]}'.`);
  return runId;
}

function needReason(values: Values, command: string): string {
  const reason = values.reason?.trim();
  if (!reason) throw new UsageError(`'runs ${command}' needs --reason "why": it is kept in the audit record.`);
  return reason;
}

async function confirm(values: Values, question: string): Promise<void> {
  if (values.yes) return;
  if (!process.stdin.isTTY) throw new UsageError(`${question} Add --yes to confirm when not running interactively.`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} Type yes to continue: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new UsageError('Not confirmed; nothing was changed.');
  } finally {
    rl.close();
  }
}

async function waitForRun(api: OperatorApiClient, runId: string, values: Values, io: Output): Promise<RunDetail> {
  const timeoutInSeconds = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!Number.isFinite(timeoutInSeconds) || timeoutInSeconds <= 0) throw new UsageError(`--timeout must be a number of seconds, got '${values.timeout}'.`);
  const deadline = Date.now() + timeoutInSeconds * 1000;
  let last = '';
  for (;;) {
    const d = await api.getRun(runId);
    if (FINISHED_STATUSES.includes(d.summary.status)) return d;
    const now = `${d.summary.status}${d.summary.phase ? ` (${d.summary.phase})` : ''}`;
    if (now !== last && !values.json) io.err(`${runId}: ${now}`);
    last = now;
    if (Date.now() > deadline) throw new ApiCallError(0, 'WaitTimedOut', `Run ${runId} is still ${d.summary.status} after ${timeoutInSeconds} s.`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function listQuery(values: Values): URLSearchParams {
  const q = new URLSearchParams();
  for (const name of ['kind', 'route', 'status', 'from', 'to', 'q', 'top'] as const) if (values[name] !== undefined) q.set(name, values[name]!);
  if (values.continuation) q.set('continuationToken', values.continuation);
  return q;
}

/** Checks the whole chain (the API checks a part per call) and reports every problem found. */
async function verifyAudit(api: OperatorApiClient, values: Values, io: Output, print: (value: unknown, human: () => string) => void): Promise<number> {
  let from = values['from-seq'] === undefined ? 1 : Number(values['from-seq']);
  if (!Number.isInteger(from) || from < 1) throw new UsageError(`--from-seq must be a whole number from 1, got '${values['from-seq']}'.`);
  const first = from;
  let checked = 0;
  const problems: AuditVerification['problems'] = [];
  let last: AuditVerification;
  for (;;) {
    last = await api.verifyAudit(from);
    checked += last.checked;
    problems.push(...last.problems);
    if (!last.nextFromSeq) break;
    if (!values.json) io.err(`checked records ${first}..${last.toSeq} of ${last.headSeq}`);
    from = last.nextFromSeq;
  }
  const ok = problems.length === 0;
  print({ ok, fromSeq: first, toSeq: last.toSeq, headSeq: last.headSeq, headHash: last.headHash, checked, problems }, () =>
    ok
      ? `Audit trail intact: ${checked} record(s) checked (${first}..${last.toSeq}); newest record ${last.headSeq}, hash ${last.headHash}.`
      : `Audit trail NOT intact: ${problems.length} problem(s) in ${checked} record(s) checked.\n${table(['RECORD', 'BLOB', 'PROBLEM'], problems.map((p) => [String(p.seq), p.blob, p.problem]), 200)}`,
  );
  return ok ? EXIT.ok : EXIT.failed;
}

function actionLine(r: ActionResult): string {
  const fields = Object.entries(r).filter(([k]) => !['action', 'auditId'].includes(k));
  return `${r.action}: done (audit record ${r.auditId})\n${fields.map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n')}`;
}

export async function runCli(argv: string[], io: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.help || positionals.length === 0) {
    io.out(USAGE);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  try {
    const given = Object.keys(values).filter((k) => values[k as keyof Values] !== undefined);
    if (positionals[0] === 'audit') {
      if (positionals[1] !== 'verify' || positionals.length > 2) throw new UsageError(`Unknown audit command '${positionals.slice(1).join(' ')}'; use 'batchpilot audit verify'.`);
      const stray = given.filter((k) => !COMMON.includes(k) && k !== 'from-seq');
      if (stray.length) throw new UsageError(`'audit verify' does not take ${stray.map((k) => `--${k}`).join(', ')}.`);
      const api = new OperatorApiClient(resolveTarget({ url: values.url, key: values.key, tokenScope: values['token-scope'], stateDir: values['state-dir'], actor: values.as, env }));
      return await verifyAudit(api, values, io, (value, human) => io.out(values.json ? JSON.stringify(value, null, 2) : human()));
    }
    if (positionals[0] === 'routes') {
      if (positionals[1] !== 'health' || positionals.length > 2) throw new UsageError(`Unknown routes command '${positionals.slice(1).join(' ')}'; use 'batchpilot routes health [--route NAME]'.`);
      const stray = given.filter((k) => !COMMON.includes(k) && k !== 'route');
      if (stray.length) throw new UsageError(`'routes health' does not take ${stray.map((k) => `--${k}`).join(', ')}.`);
      const api = new OperatorApiClient(resolveTarget({ url: values.url, key: values.key, tokenScope: values['token-scope'], stateDir: values['state-dir'], actor: values.as, env }));
      const health = await api.routeHealth(values.route);
      io.out(values.json ? JSON.stringify(health, null, 2) : routeHealthTable(health));
      // Scripts and cron jobs can page on it: an objective missed over 24 h or the window is a failure.
      return health.routes.some((r) => r.last24h.attained === false || r.overWindow.attained === false) ? EXIT.failed : EXIT.ok;
    }
    if (positionals[0] !== 'runs') throw new UsageError(`Unknown command '${positionals[0]}'; the commands are 'batchpilot runs ...', 'batchpilot routes health' and 'batchpilot audit verify'.`);
    const command = positionals[1];
    if (!command || !(command in ALLOWED)) throw new UsageError(`Unknown runs command '${command ?? ''}'; use ${Object.keys(ALLOWED).join(', ')}.`);
    const stray = given.filter((k) => !COMMON.includes(k) && !ALLOWED[command].includes(k));
    if (stray.length) throw new UsageError(`'runs ${command}' does not take ${stray.map((k) => `--${k}`).join(', ')}.`);

    const api = new OperatorApiClient(resolveTarget({ url: values.url, key: values.key, tokenScope: values['token-scope'], stateDir: values['state-dir'], actor: values.as, env }));
    const print = (value: unknown, human: () => string): void => io.out(values.json ? JSON.stringify(value, null, 2) : human());

    switch (command) {
      case 'list': {
        if (positionals.length > 2) throw new UsageError(`Unexpected argument '${positionals[2]}'.`);
        const query = listQuery(values);
        const page = await api.listRuns(query);
        const runs: RunSummary[] = [...page.runs];
        let token = page.continuationToken;
        while (values.all && token) {
          query.set('continuationToken', token);
          const next = await api.listRuns(query);
          runs.push(...next.runs);
          token = next.continuationToken;
        }
        const notes = [page.note, page.partial ? `Searched runs created since ${page.searchedBackTo}; older ones are not looked at yet.` : undefined].filter(Boolean);
        print({ runs, continuationToken: token, source: page.source, ...(page.note ? { note: page.note } : {}) }, () => (runs.length ? runsTable(runs) : 'No runs match.') + (token ? `\n\nMore: --continuation ${token} (or --all)` : '') + (notes.length ? `\n\n${notes.join('\n')}` : ''));
        return EXIT.ok;
      }
      case 'show': {
        const d = await api.getRun(needRunId(positionals, command));
        print(d, () => runReport(d));
        return EXIT.ok;
      }
      case 'terminate': {
        const runId = needRunId(positionals, command);
        const reason = needReason(values, command);
        await confirm(values, `Terminate run ${runId} and cancel its Azure ML job?`);
        const r = await api.runAction(runId, 'terminate', reason);
        print(r, () => actionLine(r));
        return EXIT.ok;
      }
      case 'approve':
      case 'reject': {
        const runId = needRunId(positionals, command);
        const r = await api.runAction(runId, command, needReason(values, command));
        print(r, () => actionLine(r));
        return EXIT.ok;
      }
      case 'rerun': {
        const runId = needRunId(positionals, command);
        const r = await api.runAction(runId, 'rerun', needReason(values, command));
        if (!values.wait) {
          print(r, () => actionLine(r));
          return EXIT.ok;
        }
        const d = await waitForRun(api, String(r.newRunId), values, io);
        print({ ...r, run: d.summary }, () => `${actionLine(r)}\n${d.summary.runId}: ${d.summary.status}${d.failedStep ? ` — ${d.failedStep.name}: ${d.failedStep.failure}` : ''}`);
        return d.summary.status === 'Completed' ? EXIT.ok : EXIT.failed;
      }
      case 'start': {
        if (positionals.length > 2) throw new UsageError(`Unexpected argument '${positionals[2]}'; give the path with --blob or --folder.`);
        if (!values.blob === !values.folder) throw new UsageError("'runs start' needs exactly one of --blob <container>/<path> or --folder <container>/<folder>/.");
        const r = await api.startRun(values.blob ? { blob: values.blob } : { folder: values.folder }, needReason(values, command));
        const started = (r.started as Array<{ runId: string }> | undefined) ?? [];
        if (!values.wait) {
          print(r, () => actionLine(r));
          return EXIT.ok;
        }
        const finished: RunDetail[] = [];
        for (const s of started) finished.push(await waitForRun(api, s.runId, values, io));
        print({ ...r, runs: finished.map((d) => d.summary) }, () => `${actionLine(r)}\n${table(['RUN', 'STATUS'], finished.map((d) => [d.summary.runId, d.summary.status]))}`);
        return finished.every((d) => d.summary.status === 'Completed') ? EXIT.ok : EXIT.failed;
      }
      case 'rollback': {
        if (positionals.length > 2) throw new UsageError(`Unexpected argument '${positionals[2]}'; give the endpoint with --endpoint.`);
        if (!values.endpoint) throw new UsageError("'runs rollback' needs --endpoint NAME: the batch endpoint whose latest promotion to undo.");
        const r = await api.rollback(values.endpoint, needReason(values, command));
        if (!values.wait) {
          print(r, () => actionLine(r));
          return EXIT.ok;
        }
        const d = await waitForRun(api, String(r.rollbackRunId), values, io);
        print({ ...r, run: d.summary }, () => `${actionLine(r)}\n${d.summary.runId}: ${d.summary.status}${d.summary.reason ? ` — ${d.summary.reason}` : ''}`);
        return d.summary.status === 'RolledBack' ? EXIT.ok : EXIT.failed;
      }
      case 'backfill-index': {
        if (positionals.length > 2) throw new UsageError(`Unexpected argument '${positionals[2]}'.`);
        const reason = needReason(values, command);
        // Each call backfills for a while and says how far it got; the state is kept in the index.
        for (;;) {
          const r = await api.backfillRunIndex(reason);
          if (r.state === 'complete') {
            print(r, () => `The run index holds every run: ${r.instancesRead} instance(s) read, ${r.runsWritten} run(s) written by the backfill (audit record ${r.auditId}).`);
            return EXIT.ok;
          }
          if (!values.json) io.err(`backfilling: ${r.instancesRead} instance(s) read, ${r.runsWritten} run(s) written so far`);
        }
      }
      case 'purge': {
        if (positionals.length > 2) throw new UsageError(`Unexpected argument '${positionals[2]}'.`);
        if (!values.before) throw new UsageError("'runs purge' needs --before DATE (ISO 8601, e.g. 2024-05-01).");
        const reason = needReason(values, command);
        await confirm(values, `Delete the Durable history of every finished run created before ${values.before}?`);
        const r = await api.purge(values.before, reason);
        print(r, () => actionLine(r));
        return EXIT.ok;
      }
    }
    throw new UsageError(`Unknown runs command '${command}'.`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n\nRun 'batchpilot runs --help' for usage.`);
      return EXIT.usage;
    }
    if (err instanceof ApiUnreachableError) {
      io.err(`error: ${err.message}`);
      return EXIT.unreachable;
    }
    if (err instanceof ApiCallError) {
      if (values.json) io.out(JSON.stringify(err.body ?? { error: { code: err.code, message: err.message } }, null, 2));
      io.err(`error: ${err.status ? `${err.status} ` : ''}${err.code}: ${err.message}`);
      return EXIT.failed;
    }
    io.err(`error: ${(err as Error).stack ?? err}`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`error: ${err.stack ?? err.message}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
