// The local durable engine: does for the local host what the Durable Task extension does in Azure.
// It keeps live instances in memory, runs one step (episode, control message or entity batch) per
// instance at a time and many instances at once, commits every step to Table storage before acting on
// it (dispatching activities, arming timers, delivering messages to other instances), and on start
// resumes whatever a previous process left: pending messages, open activities (run again: at least
// once), timers and undelivered messages; first of all it writes to the instance rows what the commit
// journal still holds (see durableStore.ts).
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { FunctionInvoker } from '../host/contracts';
import { CommitReceipt, DurableStore, InstanceQuery, InstanceSummary, OutboxEntry } from './durableStore';
import { DurableTimers } from './durableTimers';
import { KeyedMutex } from './keyedMutex';
import { WorkQueue } from './workQueue';
import { FailureDetails, HistoryEvent, HistoryEventType, historyEvent } from './historyEvents';
import { Envelope, InstanceMessage, InstanceState, LoadedInstance, ParentLink, RuntimeStatus, isTerminal, newReplayState } from './instanceModel';
import { prepareEpisode, selectBatch } from './episodeInputs';
import { EpisodeDecision, OutboundMessage, decideEpisode, deterministicGuid } from './episodeOutcome';
import { FunctionKindError, invokeActivity, invokeEntity, invokeOrchestrator, requireFunction } from './functionInvocations';
import { applyEntityResults, entityHasWork, isEntityInstanceId, parseEntityId, planEntityStep, toBatchItems } from './entityBatch';
import { rewindHistory } from './rewind';
import { MAX_PAYLOAD_CHARS, PayloadTooLargeError } from './tablePayloads';
import { EngineRequestError } from './engineErrors';
import { HTTP_ACTIVITY_NAME, runHttpActivity } from './durableHttp';

export { EngineRequestError };

export type DurableLogLevel = 'debug' | 'information' | 'warning' | 'error';

/** Hooks for benchmarks and tests: what happened, with in-process timings. */
export interface EngineObserver {
  /** An orchestrator episode is about to run; latencies from each activity completion it applies. */
  episodeStarted?(info: { instanceId: string; activityLatenciesInMs: number[] }): void;
  instanceFinished?(state: InstanceState): void;
}

export interface DurableEngineOptions {
  invoker: FunctionInvoker;
  connectionString: string;
  taskHubName: string;
  maxConcurrentActivityFunctions?: number;
  maxConcurrentOrchestratorFunctions?: number;
  log?(level: DurableLogLevel, message: string): void;
  observer?: EngineObserver;
}


export type ManagementResult = 'accepted' | 'notFound' | 'gone';

interface ActivityJob {
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  input?: string;
}

interface LiveInstance extends LoadedInstance {
  queued: boolean;
  /** Callers waiting for a new instance's first commit (which creates its state row). */
  firstCommitWaiters?: Array<{ resolve: () => void; reject: (err: Error) => void }>;
  /** Set when an instance was restarted: the old execution's rows go after the next commit. */
  dropOldExecutions?: boolean;
  /** Gives back the running step's concurrency slot (see #pump), once its functions have run. */
  releaseSlot?: () => void;
}

const CONTROL_TYPES = new Set<InstanceMessage['type']>(['Terminate', 'Suspend', 'Resume']);
const RETRY_AFTER_STORAGE_ERROR_IN_MS = 1000;
const MAX_INSTANCE_ID_LENGTH = 256;

/** A FIFO of instance IDs that does not shift arrays element by element. */
class ReadyQueue {
  #items: string[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(id: string): void {
    this.#items.push(id);
  }

  shift(): string | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const id = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return id;
  }
}

let isoAt = 0;
let isoText = '';

/** The current time as ISO text, made once per millisecond (every message carries one). */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoAt) {
    isoAt = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

function isControl(e: Envelope): boolean {
  return CONTROL_TYPES.has(e.message.type);
}

function hasStarted(history: HistoryEvent[]): boolean {
  return history.some((e) => e.EventType === HistoryEventType.ExecutionStarted);
}

function sameParent(a: ParentLink | undefined, b: ParentLink | undefined): boolean {
  return !!a && !!b && a.instanceId === b.instanceId && a.executionId === b.executionId && a.taskScheduledId === b.taskScheduledId;
}

export function validateInstanceId(instanceId: string): string | undefined {
  if (!instanceId || !instanceId.trim()) return 'The instance ID must not be empty.';
  if (instanceId.length > MAX_INSTANCE_ID_LENGTH) return `The instance ID must be at most ${MAX_INSTANCE_ID_LENGTH} characters.`;
  if (instanceId.startsWith('@')) return "Instance IDs starting with '@' are reserved for entities.";
  // eslint-disable-next-line no-control-regex
  if (/[/\\#?\u0000-\u001f\u007f-\u009f]/.test(instanceId)) return "The instance ID must not contain '/', '\\', '#', '?' or control characters.";
  return undefined;
}

export class DurableEngine {
  readonly store: DurableStore;
  readonly taskHubName: string;
  readonly #invoker: FunctionInvoker;
  readonly #log: (level: DurableLogLevel, message: string) => void;
  readonly #observer: EngineObserver;
  readonly #live = new Map<string, LiveInstance>();
  readonly #loading = new Map<string, Promise<LiveInstance | undefined>>();
  readonly #mutex = new KeyedMutex();
  readonly #timers = new DurableTimers();
  readonly #activities: WorkQueue<ActivityJob>;
  readonly #maxEpisodes: number;
  /** Instances with work, in two queues: those already running first, new ones after, so work in flight finishes before more is admitted. */
  readonly #ready = { running: new ReadyQueue(), starting: new ReadyQueue() };
  #runningSteps = 0;
  /**
   * Steps holding one of the maxConcurrentOrchestratorFunctions slots: a step gives its slot back once
   * its orchestrator or entity function has run and its commit is on its way, so steps waiting on
   * storage do not keep others from running (the per-instance lock still orders an instance's steps).
   */
  #slotsInUse = 0;
  #stopped = false;
  #started = false;
  #envelopeSeq = 0;
  /** IDs with a state row in storage (loaded at start-up): a start of any other ID needs no read. */
  readonly #known = new Set<string>();
  readonly #idleWaiters: Array<() => void> = [];

  constructor(options: DurableEngineOptions) {
    this.#invoker = options.invoker;
    this.taskHubName = options.taskHubName;
    this.#log = options.log ?? (() => undefined);
    this.store = new DurableStore(options.connectionString, options.taskHubName, {
      onError: (what, err) => this.#log('warning', `${what} failed (retrying): ${(err as Error).message}`),
      onClean: (instanceId) => {
        const live = this.#live.get(instanceId);
        if (live) this.#maybeEvict(live);
      },
    });
    this.#observer = options.observer ?? {};
    const processors = Math.max(1, cpus().length);
    this.#maxEpisodes = options.maxConcurrentOrchestratorFunctions ?? 10 * processors;
    this.#activities = new WorkQueue<ActivityJob>(
      options.maxConcurrentActivityFunctions ?? 10 * processors,
      (job) => this.#runActivity(job),
      (job, err) => this.#log('error', `Activity '${job.name}' of instance '${job.instanceId}' could not be run: ${(err as Error).stack ?? err}`),
    );
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.store.initialize();
    await this.#recover();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timers.stop();
    await this.#activities.stop();
    if (this.#runningSteps > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    for (const live of this.#live.values()) {
      for (const w of live.firstCommitWaiters?.splice(0) ?? []) w.reject(new EngineRequestError(409, 'The host stopped before the instance was created.'));
    }
    await this.store.close();
  }

  /** Resumes what a previous process left behind (see the module comment). */
  async #recover(): Promise<void> {
    // First the journal: instance rows catch up with the last commits, so what follows reads them.
    const journalMessages = await this.store.recoverJournal();
    const states = await this.store.listStateVersions();
    for (const id of states.keys()) this.#known.add(id);
    const ids = new Set([...(await this.store.listActiveInstanceIds()), ...(await this.store.listInstancesWithInbox())]);
    const list = [...ids];
    for (let i = 0; i < list.length; i += 32) {
      await Promise.all(list.slice(i, i + 32).map(async (id) => {
        const live = await this.#getLive(id);
        if (live) this.#resumeOpenWork(live);
      }));
    }
    await this.#deliverOutboxes(await this.store.listOutbox());
    await Promise.all(journalMessages.map((m) => this.#deliverOutbound(m.owner, m.receipt, m.outbound)));
    if (list.length > 0) this.#log('information', `Resumed ${list.length} instance(s) of task hub '${this.taskHubName}'.`);
  }

  /** Dispatches open activities again, re-arms timers and re-sends sub-orchestration starts. */
  #resumeOpenWork(live: LiveInstance): void {
    const s = live.state;
    if (s.kind === 'orchestration' && !isTerminal(s.runtimeStatus)) {
      for (const [key, task] of Object.entries(s.replay.openTasks)) {
        const taskId = Number(key);
        if (task.kind === 'activity') {
          if (task.retryOf !== undefined && s.replay.retries[String(task.retryOf)]?.timedOut) {
            this.#enqueueLocal(s.instanceId, { type: 'TaskFailed', executionId: s.executionId, taskId, failure: s.replay.retries[String(task.retryOf)].lastFailure ?? { ErrorType: 'Error', ErrorMessage: 'The task failed.' } });
          } else if (task.waitsForTimer !== undefined && s.replay.openTasks[String(task.waitsForTimer)]) {
            // A callHttp poll still waiting for its timer (re-armed below) goes out when it fires.
          } else this.#activities.push({ instanceId: s.instanceId, executionId: s.executionId, taskId, name: task.name, input: task.input });
        } else if (task.kind === 'timer' && !task.canceled) {
          this.#armTimer(s, taskId, task.fireAt);
        } else if (task.kind === 'subOrchestration') {
          void this.#deliver(task.instanceId, {
            id: `start-${deterministicGuid(s.instanceId, s.executionId, taskId)}`,
            durable: true,
            receivedAt: new Date().toISOString(),
            message: {
              type: 'ExecutionStarted',
              name: task.name,
              input: task.input,
              executionId: deterministicGuid('execution', s.instanceId, s.executionId, taskId),
              parent: { instanceId: s.instanceId, executionId: s.executionId, taskScheduledId: taskId, name: s.name },
            },
          }).catch((err: unknown) => this.#log('error', `Could not re-send the start of sub-orchestration '${task.instanceId}': ${(err as Error).message}`));
        }
      }
    }
    this.#schedule(s.instanceId);
  }

  async #deliverOutboxes(entries: OutboxEntry[]): Promise<void> {
    for (const entry of entries) {
      const owner = this.#live.get(entry.owner)?.state ?? (await this.store.readState(entry.owner));
      // Rows of a commit that never completed (version ahead of the state) are dropped, not sent.
      if (owner && entry.version <= owner.version) {
        for (const o of entry.messages) await this.#deliver(o.target, { id: o.envelopeId, message: o.message, durable: true, receivedAt: new Date().toISOString() });
      }
      await this.store.deleteOutbox(entry.owner, entry.rowKey);
    }
  }

  // ---- live instances and scheduling -----------------------------------------------------------------

  async #getLive(instanceId: string): Promise<LiveInstance | undefined> {
    const live = this.#live.get(instanceId);
    if (live) return live;
    let loading = this.#loading.get(instanceId);
    if (!loading) {
      loading = this.store
        .loadInstance(instanceId)
        .then((loaded) => {
          if (!loaded) return undefined;
          const existing = this.#live.get(instanceId);
          if (existing) return existing;
          const created: LiveInstance = { ...loaded, queued: false };
          this.#live.set(instanceId, created);
          return created;
        })
        .finally(() => this.#loading.delete(instanceId));
      this.#loading.set(instanceId, loading);
    }
    return loading;
  }

  #hasWork(live: LiveInstance): boolean {
    const s = live.state;
    if (s.kind === 'entity') return !!s.entity && entityHasWork(s.entity, live.pending);
    const suspended = s.runtimeStatus === 'Suspended';
    if (live.pending.length === 0) return !suspended && !isTerminal(s.runtimeStatus) && !hasStarted(live.history);
    // Called for every completion that arrives: only a suspended instance needs to look through them.
    return !suspended || live.pending.some(isControl);
  }

  #schedule(instanceId: string): void {
    const live = this.#live.get(instanceId);
    if (!live || live.queued || this.#stopped) return;
    if (!this.#hasWork(live)) return;
    live.queued = true;
    (live.state.kind === 'orchestration' && !hasStarted(live.history) ? this.#ready.starting : this.#ready.running).push(instanceId);
    this.#pump();
  }

  #pump(): void {
    while (!this.#stopped && this.#slotsInUse < this.#maxEpisodes) {
      const id = this.#ready.running.shift() ?? this.#ready.starting.shift();
      if (id === undefined) break;
      const live = this.#live.get(id);
      if (!live) continue;
      live.queued = false;
      this.#runningSteps++;
      this.#slotsInUse++;
      let held = true;
      const release = (): void => {
        if (!held) return;
        held = false;
        this.#slotsInUse--;
        this.#pump();
      };
      void this.#process(id, release).finally(() => {
        this.#runningSteps--;
        release();
        if (this.#runningSteps === 0) for (const w of this.#idleWaiters.splice(0)) w();
      });
    }
  }

  async #process(instanceId: string, releaseSlot: () => void): Promise<void> {
    try {
      await this.#mutex.run(instanceId, async () => {
        const live = this.#live.get(instanceId);
        if (!live || this.#stopped || !this.#hasWork(live)) return;
        live.releaseSlot = releaseSlot;
        try {
          await this.#step(live);
        } finally {
          live.releaseSlot = undefined;
        }
      });
      const live = this.#live.get(instanceId);
      if (live) {
        if (this.#hasWork(live)) this.#schedule(instanceId);
        else this.#maybeEvict(live);
      }
    } catch (err) {
      if (this.#stopped) return;
      const live = this.#live.get(instanceId);
      if (live && live.state.version === 0 && !this.#mutex.isBusy(instanceId)) {
        // Never stored: its starter was told it failed, so it must not appear later.
        this.#live.delete(instanceId);
        this.#log('error', `Creating instance '${instanceId}' failed: ${(err as Error).message}`);
        return;
      }
      this.#log('error', `Processing instance '${instanceId}' failed (retrying in ${RETRY_AFTER_STORAGE_ERROR_IN_MS} ms): ${(err as Error).stack ?? err}`);
      setTimeout(() => this.#schedule(instanceId), RETRY_AFTER_STORAGE_ERROR_IN_MS).unref();
    }
  }

  /** Finished instances leave memory; they are loaded again when asked about or messaged. */
  #maybeEvict(live: LiveInstance): void {
    const s = live.state;
    if (s.kind === 'orchestration' && isTerminal(s.runtimeStatus) && live.pending.length === 0 && !live.queued && !this.#mutex.isBusy(s.instanceId) && this.store.isClean(s.instanceId)) {
      this.#live.delete(s.instanceId);
    }
  }

  #newEnvelope(message: InstanceMessage, durable: boolean, id?: string): Envelope {
    this.#envelopeSeq++;
    // A durable message's ID names its inbox row, unique across restarts; an in-process one's only within this process.
    const envelopeId = id ?? (durable ? `${Date.now().toString(36)}-${this.#envelopeSeq.toString(36)}-${randomUUID()}` : `local-${this.#envelopeSeq.toString(36)}`);
    return { id: envelopeId, message, durable, receivedAt: isoNow() };
  }

  /** An in-process message (activity result, timer, synthetic failure): not stored; lost work is redone after a crash. */
  #enqueueLocal(instanceId: string, message: InstanceMessage, receivedAtMs?: number): void {
    const live = this.#live.get(instanceId);
    if (!live) return;
    const envelope = this.#newEnvelope(message, false);
    envelope.receivedAtMs = receivedAtMs;
    live.pending.push(envelope);
    this.#schedule(instanceId);
  }

  /** Delivers a durable message: stored in the target's inbox first, then queued. */
  async #deliver(target: string, envelope: Envelope): Promise<void> {
    if (envelope.message.type === 'ExecutionStarted') {
      await this.#startInstance(target, envelope.message, false);
      return;
    }
    let live = await this.#getLive(target);
    if (!live && isEntityInstanceId(target)) live = await this.#createEntity(target);
    if (!live) {
      this.#log('warning', `A ${envelope.message.type} message for instance '${target}' was dropped: the instance does not exist.`);
      return;
    }
    if (live.pending.some((e) => e.id === envelope.id)) return;
    await this.store.appendInbox(target, envelope);
    if (!this.#live.has(target)) {
      // Evicted meanwhile: the next load reads the inbox row.
      await this.#getLive(target);
      this.#schedule(target);
      return;
    }
    live.pending.push(envelope);
    this.#schedule(target);
  }

  /** Sends a commit's messages; its outbox rows and journal record go once all arrived (a crash before re-sends them). */
  async #deliverOutbound(owner: string, receipt: CommitReceipt | undefined, outbound: OutboundMessage[]): Promise<void> {
    const remaining = [...outbound];
    for (let attempt = 0; remaining.length > 0 && !this.#stopped; attempt++) {
      const failed: OutboundMessage[] = [];
      await Promise.all(
        remaining.map(async (o) => {
          try {
            await this.#deliver(o.target, { id: o.envelopeId, message: o.message, durable: true, receivedAt: new Date().toISOString() });
          } catch (err) {
            failed.push(o);
            this.#log('error', `Delivering ${o.message.type} from '${owner}' to '${o.target}' failed (retrying): ${(err as Error).message}`);
          }
        }),
      );
      remaining.splice(0, remaining.length, ...failed);
      if (remaining.length > 0) await new Promise((r) => setTimeout(r, RETRY_AFTER_STORAGE_ERROR_IN_MS).unref());
    }
    if (remaining.length > 0) return;
    for (const key of receipt?.outboxRowKeys ?? []) {
      await this.store.deleteOutbox(owner, key).catch((err: unknown) => this.#log('warning', `Deleting a delivered outbox row of '${owner}' failed: ${(err as Error).message}`));
    }
    receipt?.delivered();
  }

  // ---- timers and activities --------------------------------------------------------------------------

  #timerKey(instanceId: string, executionId: string, timerId: number): string {
    return `${instanceId}\u0000${executionId}\u0000${timerId}`;
  }

  #armTimer(s: InstanceState, timerId: number, fireAt: string): void {
    const { instanceId, executionId } = s;
    this.#timers.arm(this.#timerKey(instanceId, executionId, timerId), fireAt, () => {
      this.#enqueueLocal(instanceId, { type: 'TimerFired', executionId, timerId, fireAt });
    });
  }

  async #runActivity(job: ActivityJob): Promise<void> {
    const live = this.#live.get(job.instanceId);
    if (!live || live.state.executionId !== job.executionId || isTerminal(live.state.runtimeStatus)) return;
    const result = job.name === HTTP_ACTIVITY_NAME ? await runHttpActivity(job.input) : await invokeActivity(this.#invoker, job.instanceId, job.name, job.input);
    const at = performance.now();
    const message: InstanceMessage = result.ok
      ? { type: 'TaskCompleted', executionId: job.executionId, taskId: job.taskId, result: result.result }
      : { type: 'TaskFailed', executionId: job.executionId, taskId: job.taskId, failure: result.failure };
    this.#enqueueLocal(job.instanceId, message, at);
  }

  // ---- steps ----------------------------------------------------------------------------------------

  async #step(live: LiveInstance): Promise<void> {
    const s = live.state;
    if (s.kind === 'entity') return this.#entityStep(live);
    const control = live.pending.find(isControl);
    if (control) return this.#applyControl(live, control);
    if (isTerminal(s.runtimeStatus)) {
      // Late messages for a finished instance: committed as consumed, nothing else.
      await this.#commit(live, { ...s, version: s.version + 1 }, [], selectBatch(live.pending, { maxDurableMessages: 40, maxMessages: 2000 }), []);
      return;
    }
    await this.#episode(live);
  }

  async #episode(live: LiveInstance): Promise<void> {
    const s = live.state;
    const batch = selectBatch(live.pending.filter((e) => !isControl(e)), { maxDurableMessages: 40, maxMessages: 2000 });
    const now = new Date();
    const prepared = prepareEpisode(s, live.history, batch, now);
    if (this.#observer.episodeStarted) {
      const t = performance.now();
      const latencies = batch.filter((e) => e.receivedAtMs !== undefined && (e.message.type === 'TaskCompleted' || e.message.type === 'TaskFailed')).map((e) => t - e.receivedAtMs!);
      this.#observer.episodeStarted({ instanceId: s.instanceId, activityLatenciesInMs: latencies });
    }
    const outcome = await invokeOrchestrator(this.#invoker, s, live.history, prepared.newEvents);
    const decision = decideEpisode(s, prepared, outcome);
    try {
      await this.#commitEpisode(live, prepared.consumed, decision, now);
    } catch (err) {
      if (!(err instanceof PayloadTooLargeError)) throw err;
      // Too big to store: the instance fails with the reason instead of retrying forever.
      const message = `Orchestrator function '${s.name}' failed: ${err.message}`;
      const failure: FailureDetails = { ErrorType: 'PayloadTooLargeException', ErrorMessage: err.message };
      const failed: EpisodeDecision = {
        events: [historyEvent.orchestratorStarted(now), historyEvent.executionCompleted(now, 'Failed', JSON.stringify(message), failure), historyEvent.orchestratorCompleted(now)],
        replay: s.replay,
        status: 'Failed',
        output: JSON.stringify(message),
        failureDetails: failure,
        customStatus: s.customStatus,
        work: { activities: [], timers: [], cancelTimers: [], outbound: [], selfMessages: [] },
      };
      await this.#commitEpisode(live, prepared.consumed, failed, now);
    }
  }

  async #commitEpisode(live: LiveInstance, consumed: Envelope[], decision: EpisodeDecision, now: Date): Promise<void> {
    const s = live.state;
    const nowIso = now.toISOString();
    let next: InstanceState = {
      ...s,
      replay: decision.replay,
      runtimeStatus: decision.status,
      customStatus: decision.customStatus,
      lastUpdatedTime: nowIso,
      version: s.version + 1,
      historyCount: s.historyCount + decision.events.length,
      episodes: s.episodes + 1,
    };
    let events = decision.events;
    const outbound = [...decision.work.outbound];
    if (decision.status === 'Completed' || decision.status === 'Failed') {
      next.output = decision.output;
      next.failureDetails = decision.failureDetails;
      next.completedTime = nowIso;
      outbound.push(...this.#completionMessages(next));
      if (decision.status === 'Failed') this.#log('warning', `Orchestration '${s.name}' (instance '${s.instanceId}') failed: ${decision.failureDetails?.ErrorMessage ?? decision.output}`);
    }
    const continued = decision.status === 'ContinuedAsNew';
    if (continued) {
      // A fresh execution: empty history, new input; messages not yet applied carry over.
      next = {
        ...next,
        executionId: randomUUID().replace(/-/g, ''),
        input: decision.continueAsNew?.input,
        runtimeStatus: 'Running',
        historyCount: 0,
        flushedEvents: 0,
        episodes: 0,
        replay: newReplayState(),
        output: undefined,
      };
      events = [];
    }
    await this.#commit(live, next, events, consumed, outbound);
    if (continued) {
      this.#timers.cancelPrefix(`${s.instanceId}\u0000${s.executionId}\u0000`);
      void this.store.deleteOtherExecutions(s.instanceId, next.executionId).catch((err: unknown) => this.#log('warning', `Deleting the previous history of '${s.instanceId}' failed: ${(err as Error).message}`));
      return;
    }
    if (!isTerminal(next.runtimeStatus)) {
      for (const a of decision.work.activities) this.#activities.push({ instanceId: next.instanceId, executionId: next.executionId, taskId: a.taskId, name: a.name, input: a.input });
      for (const t of decision.work.timers) this.#armTimer(next, t.timerId, t.fireAt);
      for (const m of decision.work.selfMessages) {
        live.pending.push(m);
      }
    }
    for (const id of decision.work.cancelTimers) this.#timers.cancel(this.#timerKey(next.instanceId, next.executionId, id));
  }

  /** Persists a step, then updates memory and acts: the only way instance state changes. */
  async #commit(live: LiveInstance, next: InstanceState, events: HistoryEvent[], consumed: Envelope[], outbound: OutboundMessage[]): Promise<void> {
    const before = live.state;
    let receipt: CommitReceipt;
    try {
      const history = before.executionId === next.executionId && before.historyCount === live.history.length ? live.history.concat(events) : events;
      const committing = this.store.commit({ state: next, history, consumed, outbound });
      live.releaseSlot?.();
      receipt = await committing;
    } catch (err) {
      for (const w of live.firstCommitWaiters?.splice(0) ?? []) w.reject(err as Error);
      throw err;
    }
    live.state = next;
    this.#known.add(next.instanceId);
    for (const w of live.firstCommitWaiters?.splice(0) ?? []) w.resolve();
    if (live.dropOldExecutions) {
      live.dropOldExecutions = false;
      void this.store.deleteOtherExecutions(next.instanceId, next.executionId).catch((err: unknown) => this.#log('warning', `Deleting the previous history of '${next.instanceId}' failed: ${(err as Error).message}`));
    }
    if (before.executionId !== next.executionId) live.history = [];
    for (const e of events) {
      e.IsPlayed = true;
      live.history.push(e);
    }
    if (consumed.length > 0) {
      const ids = new Set(consumed.map((e) => e.id));
      live.pending = live.pending.filter((e) => !ids.has(e.id));
    }
    if (isTerminal(next.runtimeStatus) && !isTerminal(before.runtimeStatus)) {
      this.#timers.cancelPrefix(`${next.instanceId}\u0000`);
      this.#observer.instanceFinished?.(next);
    }
    if (outbound.length > 0) void this.#deliverOutbound(next.instanceId, receipt, outbound);
  }

  /** What a finished orchestration tells others: its parent, and the entities it still holds locked. */
  #completionMessages(s: InstanceState): OutboundMessage[] {
    const out: OutboundMessage[] = [];
    if (s.parent) {
      const p = s.parent;
      let message: InstanceMessage;
      if (s.runtimeStatus === 'Completed') message = { type: 'SubOrchestrationCompleted', executionId: p.executionId, taskId: p.taskScheduledId, result: s.output ?? 'null' };
      else {
        const failure: FailureDetails =
          s.runtimeStatus === 'Failed' && s.failureDetails
            ? s.failureDetails
            : { ErrorType: 'OrchestrationTerminatedException', ErrorMessage: `The sub-orchestration '${s.instanceId}' was ${s.runtimeStatus.toLowerCase()}${s.output ? `: ${JSON.parse(s.output) as string}` : '.'}` };
        message = { type: 'SubOrchestrationFailed', executionId: p.executionId, taskId: p.taskScheduledId, failure };
      }
      out.push({ target: p.instanceId, envelopeId: `done-${s.instanceId}-${s.executionId}`, message });
    }
    for (const entityId of s.replay.heldLocks ?? []) {
      const requestId = deterministicGuid('release-at-end', s.instanceId, s.executionId, entityId);
      out.push({ target: entityId, envelopeId: `release-${requestId}`, message: { type: 'EntityOperation', requestId, operation: '__release', signal: true, parentInstanceId: s.instanceId, lock: 'release' } });
    }
    return out;
  }

  async #applyControl(live: LiveInstance, envelope: Envelope): Promise<void> {
    const s = live.state;
    const m = envelope.message;
    const now = new Date();
    const nowIso = now.toISOString();
    const next: InstanceState = { ...s, version: s.version + 1, lastUpdatedTime: nowIso };
    const events: HistoryEvent[] = [];
    let outbound: OutboundMessage[] = [];
    if (m.type === 'Terminate' && !isTerminal(s.runtimeStatus)) {
      const reason = JSON.stringify(m.reason ?? '');
      events.push(historyEvent.executionTerminated(now, reason), historyEvent.executionCompleted(now, 'Terminated', reason));
      Object.assign(next, { runtimeStatus: 'Terminated' as RuntimeStatus, output: reason, completedTime: nowIso });
      outbound = this.#completionMessages(next);
    } else if (m.type === 'Suspend' && (s.runtimeStatus === 'Running' || s.runtimeStatus === 'Pending')) {
      events.push(historyEvent.executionSuspended(now, m.reason));
      Object.assign(next, { runtimeStatus: 'Suspended' as RuntimeStatus, statusBeforeSuspend: s.runtimeStatus });
    } else if (m.type === 'Resume' && s.runtimeStatus === 'Suspended') {
      events.push(historyEvent.executionResumed(now, m.reason));
      Object.assign(next, { runtimeStatus: s.statusBeforeSuspend ?? 'Running', statusBeforeSuspend: undefined });
    }
    next.historyCount = s.historyCount + events.length;
    await this.#commit(live, next, events, [envelope], outbound);
  }

  async #entityStep(live: LiveInstance): Promise<void> {
    const s = live.state;
    const entity = parseEntityId(s.instanceId)!;
    const plan = planEntityStep(s.instanceId, s.entity!, live.pending);
    if (plan.operations.length > 0) {
      const outcome = await invokeEntity(this.#invoker, { name: entity.name, key: entity.key, exists: plan.record.exists, state: plan.record.state }, toBatchItems(plan));
      if (!outcome.ok) this.#log('warning', `Entity '${s.instanceId}' failed a batch: ${outcome.message}`);
      applyEntityResults(s.instanceId, plan, outcome);
    }
    const next: InstanceState = { ...s, entity: plan.record, version: s.version + 1, lastUpdatedTime: new Date().toISOString() };
    await this.#commit(live, next, [], plan.consumed, plan.outbound);
  }

  // ---- creating instances -----------------------------------------------------------------------------

  #newOrchestrationState(instanceId: string, name: string, input: string | undefined, executionId: string, parent?: ParentLink, createdTime?: string): InstanceState {
    const now = new Date().toISOString();
    return {
      instanceId,
      kind: 'orchestration',
      name,
      executionId,
      runtimeStatus: 'Pending',
      input,
      createdTime: createdTime ?? now,
      lastUpdatedTime: now,
      parent,
      historyCount: 0,
      episodes: 0,
      replay: newReplayState(),
      version: 1,
    };
  }

  async #createEntity(entityId: string): Promise<LiveInstance | undefined> {
    return this.#mutex.run(entityId, async () => {
      const existing = await this.#getLive(entityId);
      if (existing) return existing;
      const parsed = parseEntityId(entityId)!;
      const now = new Date().toISOString();
      const state: InstanceState = {
        instanceId: entityId,
        kind: 'entity',
        name: parsed.name,
        executionId: '',
        runtimeStatus: 'Running',
        createdTime: now,
        lastUpdatedTime: now,
        historyCount: 0,
        episodes: 0,
        replay: newReplayState(),
        entity: { exists: false, recentRequestIds: [] },
        version: 1,
      };
      if (!(await this.store.createInstance(state))) return this.#getLive(entityId);
      this.#known.add(entityId);
      const live: LiveInstance = { state, history: [], pending: [], queued: false };
      this.#live.set(entityId, live);
      return live;
    });
  }

  /**
   * Starts (or restarts) an orchestration instance. From a client, an instance that is still
   * pending, running or suspended is a conflict; from a parent, a duplicate start is ignored and a
   * start of a child that already finished for this parent re-sends its result. A new instance is
   * stored by its first episode's commit, which this waits for: starting costs no extra write.
   */
  async #startInstance(instanceId: string, m: Extract<InstanceMessage, { type: 'ExecutionStarted' }>, fromClient: boolean): Promise<void> {
    let created: Promise<void> | undefined;
    await this.#mutex.run(instanceId, async () => {
      const live = this.#live.has(instanceId) || this.#known.has(instanceId) ? await this.#getLive(instanceId) : undefined;
      const existing = live?.state;
      if (existing && !isTerminal(existing.runtimeStatus)) {
        if (fromClient) throw new EngineRequestError(409, `An instance with ID '${instanceId}' already exists and is ${existing.runtimeStatus.toLowerCase()}. Wait for it to finish or terminate it first.`);
        if (sameParent(existing.parent, m.parent)) return;
        if (m.parent) {
          const failure: FailureDetails = { ErrorType: 'OrchestrationAlreadyExistsException', ErrorMessage: `An orchestration with instance ID '${instanceId}' is already ${existing.runtimeStatus.toLowerCase()}.` };
          await this.#deliver(m.parent.instanceId, this.#newEnvelope({ type: 'SubOrchestrationFailed', executionId: m.parent.executionId, taskId: m.parent.taskScheduledId, failure }, true, `conflict-${m.executionId}`));
        }
        return;
      }
      if (existing && sameParent(existing.parent, m.parent)) {
        // This child already ran for this very call; its parent may not have heard.
        void this.#deliverOutbound(instanceId, undefined, this.#completionMessages(existing));
        return;
      }
      const fresh = { ...this.#newOrchestrationState(instanceId, m.name, m.input, m.executionId, m.parent), orchestrationVersion: m.orchestrationVersion };
      if (existing && live) {
        live.state = { ...fresh, version: existing.version };
        live.history = [];
        live.dropOldExecutions = true;
      } else {
        this.#live.set(instanceId, { state: { ...fresh, version: 0 }, history: [], pending: [], queued: false });
      }
      const target = this.#live.get(instanceId)!;
      created = new Promise<void>((resolve, reject) => (target.firstCommitWaiters ??= []).push({ resolve, reject }));
    });
    if (!created) return;
    this.#schedule(instanceId);
    await created;
  }

  // ---- client operations ------------------------------------------------------------------------------

  async startOrchestration(name: string, options: { instanceId?: string; input?: string; version?: string } = {}): Promise<string> {
    try {
      requireFunction(this.#invoker, name, 'orchestrationtrigger', 'df.app.orchestration');
    } catch (err) {
      if (err instanceof FunctionKindError) throw new EngineRequestError(400, err.message);
      throw err;
    }
    const instanceId = options.instanceId ?? randomUUID().replace(/-/g, '');
    const invalid = validateInstanceId(instanceId);
    if (invalid) throw new EngineRequestError(400, invalid);
    this.#checkPayload(options.input, 'The orchestration input');
    const registeredName = this.#invoker.get(name)!.name;
    await this.#startInstance(instanceId, { type: 'ExecutionStarted', name: registeredName, orchestrationVersion: options.version, input: options.input, executionId: randomUUID().replace(/-/g, '') }, true);
    return instanceId;
  }

  async getInstance(instanceId: string, withHistory: boolean): Promise<{ state: InstanceState; history?: HistoryEvent[] } | undefined> {
    const live = this.#live.get(instanceId);
    if (live) return { state: live.state, history: withHistory ? [...live.history] : undefined };
    if (withHistory) {
      const loaded = await this.store.loadInstance(instanceId);
      return loaded ? { state: loaded.state, history: loaded.history } : undefined;
    }
    const state = await this.store.readState(instanceId);
    return state ? { state } : undefined;
  }

  async #stateOf(instanceId: string): Promise<InstanceState | undefined> {
    return this.#live.get(instanceId)?.state ?? (await this.store.readState(instanceId));
  }

  #checkPayload(text: string | undefined, what: string): void {
    if (text !== undefined && text.length > MAX_PAYLOAD_CHARS) {
      throw new EngineRequestError(413, `${what} is ${text.length} characters of JSON; the local durable engine accepts up to ${MAX_PAYLOAD_CHARS}. Pass large data by reference (e.g. a blob URL).`);
    }
  }

  async raiseEvent(instanceId: string, eventName: string, input: string | undefined): Promise<ManagementResult> {
    this.#checkPayload(input, 'The event data');
    const state = await this.#stateOf(instanceId);
    if (!state || state.kind !== 'orchestration') return 'notFound';
    if (isTerminal(state.runtimeStatus)) return 'gone';
    await this.#deliver(instanceId, this.#newEnvelope({ type: 'EventRaised', name: eventName, input }, true));
    return 'accepted';
  }

  async #control(instanceId: string, message: InstanceMessage, acceptable: (s: RuntimeStatus) => boolean): Promise<ManagementResult> {
    const state = await this.#stateOf(instanceId);
    if (!state || state.kind !== 'orchestration') return 'notFound';
    if (!acceptable(state.runtimeStatus)) return 'gone';
    await this.#deliver(instanceId, this.#newEnvelope(message, true));
    return 'accepted';
  }

  terminate(instanceId: string, reason?: string): Promise<ManagementResult> {
    return this.#control(instanceId, { type: 'Terminate', reason }, (s) => !isTerminal(s));
  }

  suspend(instanceId: string, reason?: string): Promise<ManagementResult> {
    return this.#control(instanceId, { type: 'Suspend', reason }, (s) => !isTerminal(s));
  }

  resume(instanceId: string, reason?: string): Promise<ManagementResult> {
    return this.#control(instanceId, { type: 'Resume', reason }, (s) => !isTerminal(s));
  }

  /** Rewinds a failed instance: its failed tasks are forgotten and run again. */
  async rewind(instanceId: string, reason?: string): Promise<'accepted' | 'notFound' | 'notFailed'> {
    let result: 'accepted' | 'notFound' | 'notFailed' = 'accepted';
    const children: string[] = [];
    await this.#mutex.run(instanceId, async () => {
      const live = await this.#getLive(instanceId);
      if (!live || live.state.kind !== 'orchestration') {
        result = 'notFound';
        return;
      }
      if (live.state.runtimeStatus !== 'Failed') {
        result = 'notFailed';
        return;
      }
      const rewound = rewindHistory(live.state, live.history, new Date(), reason);
      const next: InstanceState = { ...rewound.state, version: live.state.version + 1, flushedEvents: 0 };
      await this.store.commit({ state: next, history: rewound.history, consumed: [], outbound: [], rewritten: true });
      live.state = next;
      live.history = rewound.history.map((e) => ({ ...e, IsPlayed: true }));
      children.push(...rewound.failedChildren);
      for (const a of rewound.activities) this.#activities.push({ instanceId, executionId: next.executionId, taskId: a.taskId, name: a.name, input: a.input });
      live.pending.push(this.#newEnvelope({ type: 'Rewound', reason }, false));
    });
    for (const child of children) await this.rewind(child, reason);
    if (result === 'accepted') this.#schedule(instanceId);
    return result;
  }

  /**
   * Deletes an instance and its history. An unfinished one is purged too (unless `onlyIfFinished`), as
   * the Azure Storage provider does: its timers stop, and work still in flight finds no instance.
   */
  async purgeInstance(instanceId: string, onlyIfFinished = false): Promise<'purged' | 'notFound' | 'running'> {
    return this.#mutex.run(instanceId, async () => {
      const state = await this.#stateOf(instanceId);
      if (!state) return (await this.store.purgeInstance(instanceId)) ? 'purged' : 'notFound';
      const running = state.kind === 'orchestration' && !isTerminal(state.runtimeStatus);
      if (running && onlyIfFinished) return 'running';
      // The journal must hold nothing of it, or a restart would bring it back.
      await this.store.flush([instanceId]);
      await this.store.released(instanceId);
      await this.store.purgeInstance(instanceId);
      if (running) this.#timers.cancelPrefix(`${instanceId}\u0000`);
      const live = this.#live.get(instanceId);
      for (const w of live?.firstCommitWaiters?.splice(0) ?? []) w.reject(new EngineRequestError(409, `Instance '${instanceId}' was purged before it started.`));
      this.#live.delete(instanceId);
      this.#known.delete(instanceId);
      return 'purged';
    });
  }

  async purgeInstances(filter: InstanceQuery): Promise<number> {
    const statuses = (filter.runtimeStatus?.length ? filter.runtimeStatus : (['Completed', 'Failed', 'Terminated', 'Canceled'] as RuntimeStatus[])).filter(isTerminal);
    let deleted = 0;
    let token: string | undefined;
    const ids: string[] = [];
    await this.store.flush();
    do {
      const page = await this.store.queryInstances({ ...filter, runtimeStatus: statuses, kind: 'orchestration' }, 500, token);
      ids.push(...page.items.map((i) => i.instanceId));
      token = page.continuationToken;
    } while (token);
    for (const id of ids) if ((await this.purgeInstance(id, true)) === 'purged') deleted++;
    return deleted;
  }

  async queryInstances(filter: InstanceQuery, pageSize: number, continuationToken?: string): Promise<{ items: InstanceSummary[]; continuationToken?: string }> {
    await this.store.flush();
    return this.store.queryInstances(filter, pageSize, continuationToken);
  }

  async signalEntity(entityId: string, operation: string, input: string | undefined): Promise<void> {
    const parsed = parseEntityId(entityId);
    if (!parsed) throw new EngineRequestError(400, `'${entityId}' is not an entity ID (@name@key).`);
    try {
      requireFunction(this.#invoker, parsed.name, 'entitytrigger', 'df.app.entity');
    } catch (err) {
      if (err instanceof FunctionKindError) throw new EngineRequestError(400, err.message);
      throw err;
    }
    this.#checkPayload(input, 'The operation input');
    const requestId = randomUUID();
    await this.#deliver(entityId, this.#newEnvelope({ type: 'EntityOperation', requestId, operation, input, signal: true, scheduledTime: new Date().toISOString() }, true, `op-${requestId}`));
  }

  async readEntity(entityId: string): Promise<{ exists: boolean; state?: string; lastOperationTime?: string }> {
    const state = await this.#stateOf(entityId);
    if (!state?.entity) return { exists: false };
    return { exists: state.entity.exists, state: state.entity.state, lastOperationTime: state.lastUpdatedTime };
  }

  /** True while steps or activities run or wait (tests, benchmarks). */
  get busy(): boolean {
    return this.#runningSteps > 0 || this.#ready.running.size > 0 || this.#ready.starting.size > 0 || this.#activities.size > 0;
  }

  /** Resolves once every commit so far is in the instance rows (what queries read). */
  async settle(): Promise<void> {
    await this.store.flush();
  }
}
