// Kills the Functions host with SIGKILL at chosen moments and starts it again on the same state. It
// reads the host's log as it is written: the host logs "Executing 'Functions.<name>'" as each
// invocation starts, so when the phase it aims at begins (an intake, a coalescing step, a submission, a
// poll while waiting, a validation, a run record write, an announcement) it kills the process at once,
// from the same callback, while that invocation runs. Phases are dealt from a seeded deck, so each is
// hit once before any is hit twice. Lines the dead process had already written arrive afterwards and
// tell whether the aimed-at invocation had finished before the kill landed.
import type { RunningLocalStack } from '../../src/local/stack/localStack';
import type { SeededRandom } from '@batchpilot/local-platform';

export const KILL_PHASES = ['intake', 'coalescing', 'submission', 'waiting', 'validation', 'record writing', 'publishing'] as const;
export type KillPhase = (typeof KILL_PHASES)[number];

/** Which function's start means a run is in which phase. */
export const PHASE_OF_FUNCTION: Record<string, KillPhase> = {
  intakeStorageEvents: 'intake',
  intakeMlEvents: 'intake',
  coalescePartition: 'coalescing',
  peekPartition: 'coalescing',
  closePartitionBatch: 'coalescing',
  startScoringRun: 'coalescing',
  writeInputTable: 'submission',
  resolveBatchEndpoint: 'submission',
  adoptOrSubmitJob: 'submission',
  deployModelCandidate: 'submission',
  getBatchJobStatus: 'waiting',
  cancelBatchJob: 'waiting',
  validateRunOutputs: 'validation',
  compareModelPredictions: 'validation',
  writeRunRecord: 'record writing',
  announceRun: 'publishing',
};

export interface KillRecord {
  number: number;
  phase: KillPhase;
  functionName: string;
  instanceId?: string;
  invocationId: string;
  at: string;
  /** False when the dead host's last lines show the aimed-at invocation had already finished. */
  landedMidInvocation: boolean;
  /** How long the host took to come back, in ms (undefined until it did). */
  restartInMs?: number;
}

export interface HostKillerOptions {
  stack: RunningLocalStack;
  random: SeededRandom;
  kills: number;
  /** Seeded uptime between a restart and the next arming, so recovery itself makes progress. */
  minUptimeInMs?: number;
  maxUptimeInMs?: number;
  /** Give up on a phase that does not start within this long and aim at the next one. */
  phaseWaitInMs?: number;
  log?: (message: string) => void;
}

const EXECUTING = /^Executing 'Functions\.([^']+)' \(Reason='[^']*'(?:, InstanceId=([^,]+))?, Id=([0-9a-f-]+)\)/;
const EXECUTED = /^Executed 'Functions\.[^']+' \((?:Succeeded|Failed), Id=([0-9a-f-]+),/;

export class HostKiller {
  readonly kills: KillRecord[] = [];
  /** Set when the host could not be started again; the soak stops and reports it. */
  fatal: Error | undefined;
  readonly #o: Required<Omit<HostKillerOptions, 'log'>> & { log: (m: string) => void };
  #deck: KillPhase[] = [];
  #target: KillPhase | undefined;
  #armedAt = 0;
  #state: 'waiting' | 'armed' | 'restarting' | 'stopped' = 'waiting';
  #timer: NodeJS.Timeout | undefined;
  #finished: Promise<void> | undefined;
  #restartFailures = 0;
  /** Invocations that finished, by id: lets a kill tell whether its invocation had ended. */
  readonly #finishedInvocations = new Set<string>();
  #onIdle: Array<() => void> = [];

  constructor(options: HostKillerOptions) {
    this.#o = { minUptimeInMs: 1500, maxUptimeInMs: 5000, phaseWaitInMs: 20_000, log: () => undefined, ...options };
  }

  /** Feed every host log line (JSON) here; it is the stack's `onHostLog`. */
  onHostLine(raw: string): void {
    let message: string;
    try {
      message = String((JSON.parse(raw) as { message?: unknown }).message ?? '');
    } catch {
      return;
    }
    const done = EXECUTED.exec(message);
    if (done) {
      this.#finishedInvocations.add(done[1]);
      const kill = this.kills.find((k) => k.invocationId === done[1]);
      if (kill) kill.landedMidInvocation = false;
      return;
    }
    if (this.#state !== 'armed' || !this.#target) return;
    const start = EXECUTING.exec(message);
    if (!start) return;
    const [, functionName, instanceId, invocationId] = start;
    if (PHASE_OF_FUNCTION[functionName] !== this.#target) return;
    this.#kill(this.#target, functionName, instanceId, invocationId);
  }

  /** Starts dealing kills; resolves when `kills` kills were made and the host is back, or on stop(). */
  start(): Promise<void> {
    this.#finished ??= new Promise<void>((resolve) => this.#onIdle.push(resolve));
    this.#scheduleArming();
    return this.#finished;
  }

  get done(): boolean {
    return this.kills.length >= this.#o.kills && this.#state !== 'restarting';
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    while (this.#state === 'restarting') await new Promise((r) => setTimeout(r, 50));
    this.#state = 'stopped';
    this.#resolveIdle();
  }

  #resolveIdle(): void {
    const waiters = this.#onIdle;
    this.#onIdle = [];
    for (const w of waiters) w();
  }

  #nextPhase(): KillPhase {
    if (this.#deck.length === 0) this.#deck = this.#o.random.shuffle([...KILL_PHASES]);
    return this.#deck.shift()!;
  }

  #scheduleArming(): void {
    if (this.#state === 'stopped') return;
    if (this.kills.length >= this.#o.kills) {
      this.#state = 'waiting';
      this.#resolveIdle();
      return;
    }
    this.#state = 'waiting';
    const uptime = this.#o.minUptimeInMs + this.#o.random.next() * (this.#o.maxUptimeInMs - this.#o.minUptimeInMs);
    this.#timer = setTimeout(() => this.#arm(this.#target ?? this.#nextPhase()), uptime);
  }

  #arm(phase: KillPhase): void {
    if (this.#state === 'stopped') return;
    this.#target = phase;
    this.#armedAt = Date.now();
    this.#state = 'armed';
    this.#timer = setTimeout(() => {
      if (this.#state !== 'armed' || Date.now() - this.#armedAt < this.#o.phaseWaitInMs) return;
      // Nothing in this phase is happening now: come back to it later, aim at another meanwhile.
      const skipped = this.#target!;
      const deck = this.#deck.length > 0 ? this.#deck : this.#o.random.shuffle(KILL_PHASES.filter((p) => p !== skipped));
      const next = deck.shift()!;
      this.#deck = [...deck, skipped];
      this.#o.log(`host killer: no ${skipped} within ${this.#o.phaseWaitInMs / 1000} s; aiming at ${next} meanwhile`);
      this.#arm(next);
    }, this.#o.phaseWaitInMs);
  }

  #kill(phase: KillPhase, functionName: string, instanceId: string | undefined, invocationId: string): void {
    const child = this.#o.stack.host;
    if (!child) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#state = 'restarting';
    this.#target = undefined;
    child.process.kill('SIGKILL');
    const record: KillRecord = { number: this.kills.length + 1, phase, functionName, instanceId, invocationId, at: new Date().toISOString(), landedMidInvocation: !this.#finishedInvocations.has(invocationId) };
    this.kills.push(record);
    this.#o.log(`host killer: kill ${record.number} during ${phase} (${functionName}${instanceId ? ` of ${instanceId}` : ''})`);
    const killedAt = Date.now();
    void this.#restart(child, killedAt, record);
  }

  async #restart(child: NonNullable<RunningLocalStack['host']>, killedAt: number, record: KillRecord): Promise<void> {
    await child.kill('SIGKILL');
    for (;;) {
      try {
        await this.#o.stack.startHost();
        record.restartInMs = Date.now() - killedAt;
        this.#restartFailures = 0;
        break;
      } catch (err) {
        this.#restartFailures += 1;
        this.#o.log(`host killer: restart failed (${(err as Error).message.split('\n')[0]}); trying again`);
        if (this.#restartFailures > 10) {
          this.fatal = new Error(`The Functions host did not start again after kill ${record.number}: ${(err as Error).message}`);
          this.#state = 'stopped';
          this.#resolveIdle();
          return;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    this.#state = 'waiting';
    this.#scheduleArming();
  }
}
