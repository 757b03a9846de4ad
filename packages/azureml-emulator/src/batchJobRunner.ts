// Runs batch jobs the way Azure ML's parallel run does, on local resources: resolves the job's inputs in
// storage, loads the deployment's model and scoring module, splits the input files into mini-batches,
// scores them with instanceCount × maxConcurrencyPerInstance in flight, retries failed mini-batches,
// stops when failures exceed errorThreshold (-1 ignores them), then writes the append_row output file
// and logs/job_progress_overview.txt next to it. The job moves through NotStarted → Preparing → Running
// → Finalizing → Completed / Failed / Canceled, and each change is stamped, stored and published.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkspaceScope } from './armResources';
import { formatRow, loadScoringModule, ScoringModule, ScoringContext, ScoringRow } from './scoringModule';
import type { BatchJobRecord, DeploymentSnapshotRecord, JobRunCounters, JobStatus, WorkspaceStore } from './workspaceStore';
import { MODEL_INPUT_KINDS, TERMINAL_JOB_STATUSES } from './workspaceStore';
import { BlobLocation, DataAssetLookup, WorkspaceStorage } from './workspaceStorage';
import { runCompletedEvent, runStatusChangedEvent } from './mlSystemEvents';
import type { EventGridEventLike, JsonObject } from './wireTypes';
import { isJsonObject } from './wireTypes';
import { parse as parseYaml } from 'yaml';

export interface JobRunnerDependencies {
  store: WorkspaceStore;
  storage: WorkspaceStorage;
  scope: WorkspaceScope;
  lookup: DataAssetLookup & { assetUri(kind: 'models' | 'codes' | 'components', reference: string): { uri?: string; properties: JsonObject } | undefined };
  publish(events: EventGridEventLike[]): void;
  /** Multiplies the emulator's simulated phase durations (queueing, preparation, finalization). */
  jobTimeScale: number;
  /** Scratch space for downloaded code, models and inputs; one folder per job, removed when it ends. */
  workDir: string;
}

/** Simulated durations of the phases around scoring, before jobTimeScale. */
const PHASE_DURATION_IN_MS = { queued: 300, preparing: 700, finalizing: 300 } as const;

type StopReason = { kind: 'cancel' } | { kind: 'preempt' } | { kind: 'shutdown' };

class JobStop extends Error {
  constructor(readonly reason: StopReason) {
    super(`job stopped: ${reason.kind}`);
  }
}

interface InputFile {
  container: string;
  blobName: string;
  /** Path relative to the input's root, used for the local copy and in logs. */
  relative: string;
}

interface ExecutionPlan {
  module: ScoringModule;
  context: ScoringContext;
  modelDir?: string;
  files: InputFile[];
  output: { container: string; folder: string; fileName: string };
}

export interface JobProgressLog {
  lines: string[];
}

export class BatchJobRunner {
  readonly #deps: JobRunnerDependencies;
  readonly #running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  #gate: { promise: Promise<void>; release: () => void } | undefined;

  constructor(deps: JobRunnerDependencies) {
    this.#deps = deps;
  }

  /** Starts a job that was just stored with status NotStarted. */
  start(job: BatchJobRecord): void {
    if (this.#running.has(job.name)) return;
    const controller = new AbortController();
    const done = this.#run(job, controller.signal).finally(() => this.#running.delete(job.name));
    this.#running.set(job.name, { controller, done });
  }

  /** Jobs a previous emulator process left unfinished start again from the beginning, as a restarted node would. */
  resumeUnfinished(): void {
    for (const job of this.#deps.store.jobs.values()) {
      if (TERMINAL_JOB_STATUSES.includes(job.status)) continue;
      if (job.status === 'CancelRequested') {
        this.#transition(job, 'Canceled');
        continue;
      }
      this.start(job);
    }
  }

  /** Requests cancellation; returns false when the job had already ended. */
  cancel(jobName: string): boolean {
    const job = this.#deps.store.jobs.get(jobName);
    if (!job || TERMINAL_JOB_STATUSES.includes(job.status)) return false;
    if (job.status !== 'CancelRequested') this.#transition(job, 'CancelRequested');
    const running = this.#running.get(jobName);
    if (running) running.controller.abort(new JobStop({ kind: 'cancel' }));
    else this.#transition(job, 'Canceled');
    return true;
  }

  /** Holds jobs at the end of Preparing until `releaseJobs`, so tests can act on a job that is surely not done. */
  holdJobs(): void {
    if (this.#gate) return;
    let release: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.#gate = { promise, release };
  }

  releaseJobs(): void {
    this.#gate?.release();
    this.#gate = undefined;
  }

  /** Settles once the job is no longer running in this process. */
  async whenSettled(jobName: string): Promise<void> {
    await this.#running.get(jobName)?.done;
  }

  /** Stops every running job where it is (they resume on the next start when state is kept). */
  async stop(): Promise<void> {
    this.releaseJobs();
    const all = [...this.#running.values()];
    for (const r of all) r.controller.abort(new JobStop({ kind: 'shutdown' }));
    await Promise.allSettled(all.map((r) => r.done));
  }

  #transition(job: BatchJobRecord, status: JobStatus): void {
    const at = new Date().toISOString();
    job.status = status;
    job.statusHistory.push({ status, at });
    job.systemData.lastModifiedAt = at;
    if (status === 'Running' && !job.properties.StartTimeUtc) job.properties.StartTimeUtc = at;
    if (TERMINAL_JOB_STATUSES.includes(status)) job.properties.EndTimeUtc = at;
    this.#deps.store.putJob(job);
    const events = [runStatusChangedEvent(this.#deps.scope.workspaceId, job, at)];
    if (status === 'Completed') events.push(runCompletedEvent(this.#deps.scope.workspaceId, job, at));
    this.#deps.publish(events);
  }

  async #phase(name: keyof typeof PHASE_DURATION_IN_MS, signal: AbortSignal): Promise<void> {
    const duration = PHASE_DURATION_IN_MS[name] * this.#deps.jobTimeScale;
    if (duration > 0) await sleep(duration, undefined, { signal });
    throwIfStopped(signal);
  }

  async #run(job: BatchJobRecord, signal: AbortSignal): Promise<void> {
    const jobDir = path.join(this.#deps.workDir, 'jobs', job.name);
    const log: JobProgressLog = { lines: [] };
    const note = (message: string): void => {
      log.lines.push(`${new Date().toISOString()} ${message}`);
    };
    let plan: ExecutionPlan | undefined;
    try {
      await this.#phase('queued', signal);
      this.#transition(job, 'Preparing');
      note(`Job ${job.name} on batch endpoint '${job.endpointName}', deployment '${job.deploymentName}'.`);
      plan = await this.#prepare(job, jobDir, note, signal);
      await this.#phase('preparing', signal);
      if (this.#gate) await raceAbort(this.#gate.promise, signal);
      throwIfStopped(signal);
      this.#transition(job, 'Running');
      const outcome = await this.#score(job, plan, jobDir, note, signal);
      this.#transition(job, 'Finalizing');
      await this.#phase('finalizing', signal);
      await this.#finalize(job, plan, outcome, log, note);
      if (outcome.thresholdExceeded) {
        job.failureReason = outcome.failureSummary;
        this.#transition(job, 'Failed');
      } else {
        this.#transition(job, 'Completed');
      }
    } catch (e) {
      const stop = stopReasonOf(e, signal);
      if (stop?.kind === 'shutdown') return;
      if (stop) {
        job.failureReason = stop.kind === 'preempt'
          ? 'The job was cancelled because its low-priority compute was preempted. Submit it again.'
          : 'The job was cancelled at the request of a user.';
        note(job.failureReason);
        await this.#writeLogQuietly(job, plan, log);
        this.#transition(job, 'Canceled');
        return;
      }
      job.failureReason = (e as Error).message;
      note(`Job failed: ${job.failureReason}`);
      await this.#writeLogQuietly(job, plan, log);
      this.#transition(job, 'Failed');
    } finally {
      await fs.promises.rm(jobDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  async #prepare(job: BatchJobRecord, jobDir: string, note: (m: string) => void, signal: AbortSignal): Promise<ExecutionPlan> {
    const { storage, lookup } = this.#deps;
    const snapshot = resolvePipelineStep(job, lookup);
    const environment = snapshot.environmentVariables ?? {};
    const literals: Record<string, string> = { ...snapshot.literals };
    for (const [name, input] of Object.entries(job.inputs)) if (input.kind === 'literal') literals[name] = input.value;

    // Code: the code asset's files, downloaded as Azure mounts them into the container.
    if (!snapshot.codeId || !snapshot.scoringScript) throw new Error(`Deployment '${job.deploymentName}' has no code configuration (codeId and scoringScript); batch deployments of custom models need a scoring script.`);
    const code = lookup.assetUri('codes', snapshot.codeId);
    if (!code?.uri) throw new Error(`The code asset '${snapshot.codeId}' of deployment '${job.deploymentName}' does not exist or has no codeUri.`);
    const codeDir = path.join(jobDir, 'code');
    const codeFiles = await storage.downloadTree(storage.resolve(code.uri, lookup, 'the code asset'), codeDir);
    if (codeFiles.length === 0) throw new Error(`The code asset '${snapshot.codeId}' has no files at ${code.uri}.`);
    throwIfStopped(signal);

    let modelDir: string | undefined;
    if (snapshot.modelId) {
      const model = lookup.assetUri('models', snapshot.modelId);
      if (!model?.uri) throw new Error(`The model '${snapshot.modelId}' of deployment '${job.deploymentName}' does not exist or has no modelUri.`);
      modelDir = path.join(jobDir, 'model');
      const files = await storage.downloadTree(storage.resolve(model.uri, lookup, 'the model'), modelDir);
      if (files.length === 0) throw new Error(`The model '${snapshot.modelId}' has no files at ${model.uri}.`);
      note(`Model ${snapshot.modelId}: ${files.length} file(s).`);
    }
    throwIfStopped(signal);

    const files: InputFile[] = [];
    for (const [name, input] of Object.entries(job.inputs)) {
      if (input.kind === 'literal' || MODEL_INPUT_KINDS.includes(input.kind)) continue;
      if (snapshot.dataInputName && name !== snapshot.dataInputName) continue;
      const location = storage.resolve(input.uri, lookup, `input '${name}'`);
      if (input.kind === 'mltable') {
        // An MLTable input names its files in the `paths:` of the folder's MLTable file (`file:` entries).
        const folder = folderPrefix(location);
        const table = parseYaml(await storage.readText(location.container, `${folder}MLTable`)) as { paths?: Array<{ file?: string }> } | null;
        const listed = (table?.paths ?? []).map((p) => p.file).filter((f): f is string => typeof f === 'string');
        if (listed.length === 0) throw new Error(`Input '${name}' (${input.uri}): its MLTable file lists no files under paths.`);
        for (const uri of listed) {
          const file = storage.resolve(uri, lookup, `a file of input '${name}'`);
          if (!(await storage.fileExists(file))) throw new Error(`Input '${name}' lists ${uri}, which does not exist.`);
          files.push({ container: file.container, blobName: file.path, relative: path.posix.basename(file.path) });
        }
        continue;
      }
      if (await storage.fileExists(location)) {
        files.push({ container: location.container, blobName: location.path, relative: path.posix.basename(location.path) });
        continue;
      }
      const prefix = folderPrefix(location);
      const names = await storage.listFolder(location);
      if (names.length === 0) throw new Error(`Input '${name}' (${input.uri}) no longer has any files.`);
      for (const blobName of names) files.push({ container: location.container, blobName, relative: blobName.slice(prefix.length) });
    }
    note(`Input: ${files.length} file(s).`);

    const context: ScoringContext = {
      jobName: job.name,
      endpointName: job.endpointName,
      deploymentName: job.deploymentName,
      literals,
      environment,
      log: (message: string) => note(`[user] ${message}`),
    };
    const module = loadScoringModule(path.join(codeDir, ...snapshot.scoringScript.split('/')));
    if (module.init) await module.init(modelDir, context);
    note(`Scoring script ${snapshot.scoringScript} initialised.`);
    const output = this.#outputOf(job);
    return { module, context, modelDir, files, output };
  }

  #outputOf(job: BatchJobRecord): ExecutionPlan['output'] {
    const [first] = Object.values(job.outputs);
    const location = this.#deps.storage.resolve(first.uri, this.#deps.lookup, 'the output');
    if (first.kind === 'uri_file') {
      return { container: location.container, folder: path.posix.dirname(location.path).replace(/^\.$/, ''), fileName: path.posix.basename(location.path) };
    }
    return { container: location.container, folder: location.path.replace(/\/+$/, ''), fileName: job.settings.outputFileName };
  }

  async #score(job: BatchJobRecord, plan: ExecutionPlan, jobDir: string, note: (m: string) => void, signal: AbortSignal): Promise<ScoringOutcome> {
    const { settings } = job;
    const miniBatches: InputFile[][] = [];
    for (let i = 0; i < plan.files.length; i += settings.miniBatchSize) miniBatches.push(plan.files.slice(i, i + settings.miniBatchSize));
    // A pipeline step with literal inputs only still runs its scoring function once.
    if (miniBatches.length === 0) miniBatches.push([]);
    const concurrency = Math.max(1, settings.instanceCount * settings.maxConcurrencyPerInstance);
    const counters: JobRunCounters = {
      miniBatches: miniBatches.length, miniBatchesSucceeded: 0, miniBatchesFailed: 0, attempts: 0, inputFiles: plan.files.length,
      failedFiles: [], rowsWritten: 0, concurrency, peakConcurrentMiniBatches: 0,
    };
    job.counters = counters;
    // Azure's own sentences first, so tools that read real job_progress_overview files read these too.
    note(`Scheduling finished. Scheduled ${miniBatches.length} mini batches with ${plan.files.length} items.`);
    note(`Mini-batches: ${miniBatches.length} of up to ${settings.miniBatchSize} file(s); concurrency ${concurrency} ` +
      `(${settings.instanceCount} instance(s) × ${settings.maxConcurrencyPerInstance} per instance); ` +
      `error threshold ${settings.errorThreshold}; max retries ${settings.maxRetries}.`);
    const results: Array<ScoringRow[] | undefined> = new Array(miniBatches.length);
    const failures: string[] = [];
    let next = 0;
    let inFlight = 0;
    let thresholdExceeded = false;
    let faultInjected = false;

    let halt: Error | undefined;
    let processedFiles = 0;

    const scoreOne = async (index: number): Promise<void> => {
      const batch = miniBatches[index];
      const localPaths: string[] = [];
      let lastError: Error | undefined;
      let attemptsMade = 0;
      try {
        for (const file of batch) {
          const local = path.join(jobDir, 'inputs', ...file.relative.split('/'));
          await this.#deps.storage.download(file.container, file.blobName, local);
          localPaths.push(local);
        }
      } catch (e) {
        throwIfStopped(signal);
        lastError = new Error(`could not read the mini-batch's input files: ${(e as Error).message}`);
      }
      for (let attempt = 1; !lastError && attempt <= settings.maxRetries + 1; attempt++) {
        throwIfStopped(signal);
        counters.attempts++;
        attemptsMade++;
        try {
          const rows = await withTimeout(
            Promise.resolve(plan.module.run(localPaths, { ...plan.context, miniBatchIndex: index, attempt })),
            settings.timeoutInMs,
            `mini-batch ${index} did not finish within its timeout of ${settings.timeoutInMs} ms`,
            signal,
          );
          if (!Array.isArray(rows)) throw new Error(`run() returned ${typeof rows}; it must return an array with one element per output row`);
          results[index] = rows;
          processedFiles += batch.length;
          counters.miniBatchesSucceeded++;
          note(`Mini-batch ${index} (${batch.length} file(s)) succeeded on attempt ${attempt}: ${rows.length} row(s).`);
          return;
        } catch (e) {
          throwIfStopped(signal);
          note(`Mini-batch ${index} attempt ${attempt} failed: ${(e as Error).message}`);
          // Keep trying while retries remain; the last error is the one reported.
          if (attempt > settings.maxRetries) lastError = e as Error;
        }
      }
      processedFiles += batch.length;
      counters.miniBatchesFailed++;
      const names = batch.map((f) => f.relative);
      counters.failedFiles.push(...names);
      const summary = `Mini-batch ${index} failed after ${attemptsMade} attempt(s); ` +
        `failed file(s): ${names.join(', ') || '(none)'}; error: ${lastError?.message ?? 'unknown'}`;
      failures.push(summary);
      note(summary);
      if (settings.errorThreshold >= 0 && counters.failedFiles.length > settings.errorThreshold) {
        thresholdExceeded = true;
        note(`${counters.failedFiles.length} failed file(s) exceed the error threshold of ${settings.errorThreshold}: stopping the job.`);
      }
    };

    const worker = async (): Promise<void> => {
      while (!thresholdExceeded && !halt && next < miniBatches.length) {
        throwIfStopped(signal);
        const index = next++;
        inFlight++;
        counters.peakConcurrentMiniBatches = Math.max(counters.peakConcurrentMiniBatches, inFlight);
        try {
          await scoreOne(index);
        } finally {
          inFlight--;
        }
        note(`Processed ${counters.miniBatchesSucceeded + counters.miniBatchesFailed} of ${miniBatches.length} mini batches.`);
        // Injected job faults strike once the job is under way, as node losses and preemptions do.
        if (!faultInjected && (job.faultPlan === 'fail' || job.faultPlan === 'preempt')) {
          faultInjected = true;
          halt = job.faultPlan === 'preempt'
            ? new JobStop({ kind: 'preempt' })
            : new Error('The compute node running the job stopped responding (injected fault). Submit the job again.');
        }
      }
    };
    const workers = Array.from({ length: Math.min(concurrency, miniBatches.length) }, () => worker());
    const settled = await Promise.allSettled(workers);
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    if (halt) throw halt;
    throwIfStopped(signal);
    note(`Scoring finished: ${counters.miniBatchesSucceeded} mini-batch(es) succeeded, ${counters.miniBatchesFailed} failed; ` +
      `peak concurrent mini-batches ${counters.peakConcurrentMiniBatches}.`);
    return { results, counters, thresholdExceeded, failureSummary: failures.join('\n'), processedFiles };
  }

  async #finalize(job: BatchJobRecord, plan: ExecutionPlan, outcome: ScoringOutcome, log: JobProgressLog, note: (m: string) => void): Promise<void> {
    const { settings } = job;
    const { counters } = outcome;
    if (!outcome.thresholdExceeded && settings.outputAction === 'AppendRow') {
      const lines: string[] = [];
      for (const rows of outcome.results) if (rows) for (const row of rows) lines.push(formatRow(row));
      counters.rowsWritten = lines.length;
      if (job.faultPlan === 'missingOutputs') {
        note(`Output ${settings.outputFileName} was not written (injected fault: outputs missing).`);
      } else {
        await this.#deps.storage.upload(plan.output.container, joinBlobPath(plan.output.folder, plan.output.fileName), lines.length ? `${lines.join('\n')}\n` : '', 'text/csv');
        note(`Wrote ${lines.length} row(s) to ${plan.output.fileName}.`);
      }
    }
    const processed = counters.miniBatchesSucceeded + counters.miniBatchesFailed;
    const processedItems = outcome.processedFiles;
    if (processed === counters.miniBatches) note(`All ${counters.miniBatches} mini batches have been processed.`);
    note(`There are ${counters.miniBatches} mini batches with ${counters.inputFiles} items. Processed ${processed} mini batches containing ${processedItems} items, ` +
      `${processedItems - counters.failedFiles.length} succeeded, ${counters.failedFiles.length} failed. The error threshold is ${settings.errorThreshold}.`);
    note(`Summary: files ${counters.inputFiles}, mini-batches ${counters.miniBatches} (succeeded ${counters.miniBatchesSucceeded}, failed ${counters.miniBatchesFailed}), ` +
      `failed files ${counters.failedFiles.length}${counters.failedFiles.length ? ` (${counters.failedFiles.join(', ')})` : ''}, rows ${counters.rowsWritten}.`);
    note(outcome.thresholdExceeded ? 'Job status: Failed (error threshold exceeded).' : 'Job status: Completed.');
    await this.#writeLog(plan.output, log);
  }

  async #writeLog(output: ExecutionPlan['output'], log: JobProgressLog): Promise<void> {
    await this.#deps.storage.upload(output.container, joinBlobPath(output.folder, 'logs/job_progress_overview.txt'), `${log.lines.join('\n')}\n`, 'text/plain');
  }

  async #writeLogQuietly(job: BatchJobRecord, plan: ExecutionPlan | undefined, log: JobProgressLog): Promise<void> {
    try {
      await this.#writeLog(plan?.output ?? this.#outputOf(job), log);
    } catch {
      // The log is a courtesy on the failure path; the job's status and failure reason are what count.
    }
  }
}

interface ScoringOutcome {
  results: Array<ScoringRow[] | undefined>;
  counters: JobRunCounters;
  thresholdExceeded: boolean;
  failureSummary: string;
  /** Files in mini-batches that ran to success or to final failure. */
  processedFiles: number;
}

interface ResolvedStep extends DeploymentSnapshotRecord {
  literals: Record<string, string>;
  dataInputName?: string;
}

/**
 * A pipeline-component deployment runs its component's parallel step: the step's `task.code` and
 * `task.entry_script` (or `code`/`entry_script`) are the scoring module, a `custom_model`/`mlflow_model`
 * input is the model, string/number/boolean inputs are literals passed to the scoring module.
 */
function resolvePipelineStep(job: BatchJobRecord, lookup: JobRunnerDependencies['lookup']): ResolvedStep {
  const base: ResolvedStep = { ...job.deployment, literals: {} };
  if (!job.deployment.componentId) return base;
  const component = lookup.assetUri('components', job.deployment.componentId);
  const spec = component?.properties.componentSpec;
  if (!component || !isJsonObject(spec)) throw new Error(`The component '${job.deployment.componentId}' of deployment '${job.deploymentName}' does not exist or has no componentSpec.`);
  const inputs = isJsonObject(spec.inputs) ? spec.inputs : {};
  for (const [name, declared] of Object.entries(inputs)) {
    if (!isJsonObject(declared)) continue;
    const type = String(declared.type ?? '');
    if (['string', 'number', 'integer', 'boolean'].includes(type) && declared.default !== undefined && declared.default !== null) {
      base.literals[name] = String(declared.default);
    }
    if (['custom_model', 'mlflow_model'].includes(type) && typeof declared.default === 'string' && !base.modelId) base.modelId = declared.default;
    if (['custom_model', 'mlflow_model'].includes(type) && typeof declared.path === 'string' && !base.modelId) base.modelId = declared.path;
  }
  for (const input of Object.values(job.inputs)) if (input.kind !== 'literal' && MODEL_INPUT_KINDS.includes(input.kind)) base.modelId = input.uri;
  const jobs = isJsonObject(spec.jobs) ? spec.jobs : {};
  const step = Object.values(jobs).find((j): j is JsonObject => isJsonObject(j) && j.type === 'parallel');
  if (!step) throw new Error(`The component '${job.deployment.componentId}' has no parallel step to run.`);
  const task = isJsonObject(step.task) ? step.task : step;
  const code = task.code ?? step.code;
  const entry = task.entry_script ?? step.entry_script;
  if (typeof code !== 'string' || typeof entry !== 'string') throw new Error(`The parallel step of component '${job.deployment.componentId}' needs task.code and task.entry_script.`);
  base.codeId = code;
  base.scoringScript = entry;
  const binding = typeof step.input_data === 'string' ? /\$\{\{\s*(?:parent\.)?inputs\.([A-Za-z0-9_]+)\s*\}\}/.exec(step.input_data)?.[1] : undefined;
  if (binding) base.dataInputName = binding;
  return base;
}

function folderPrefix(location: BlobLocation): string {
  return location.path === '' || location.path.endsWith('/') ? location.path : `${location.path}/`;
}

export function joinBlobPath(folder: string, name: string): string {
  return folder ? `${folder.replace(/\/+$/, '')}/${name}` : name;
}

function throwIfStopped(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof JobStop ? signal.reason : new JobStop({ kind: 'cancel' });
}

function stopReasonOf(e: unknown, signal: AbortSignal): StopReason | undefined {
  if (e instanceof JobStop) return e.reason;
  if (signal.aborted) return signal.reason instanceof JobStop ? signal.reason.reason : { kind: 'cancel' };
  return undefined;
}

async function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function withTimeout<T>(promise: Promise<T>, timeoutInMs: number, message: string, signal: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const timeout = sleep(timeoutInMs, undefined, { signal: controller.signal, ref: false }).then(() => {
    throw new Error(message);
  });
  try {
    return await raceAbort(Promise.race([promise, timeout]), signal);
  } finally {
    controller.abort();
    timeout.catch(() => undefined);
  }
}
