// Keeps the Instances table (what queries read) following the state rows, off the critical path:
// the newest state of each instance waits in a queue, a few writes run at once, an instance never has
// two writes in flight (so an older one cannot land last), and a burst of changes to one instance
// (pending, running, completed within milliseconds) becomes one write. Start-up repairs whatever a
// crash left behind by comparing versions.
import type { InstanceState } from './instanceModel';

export class StatusProjection {
  readonly #queued = new Map<string, InstanceState>();
  readonly #inFlight = new Set<string>();
  readonly #waiters: Array<{ ids: Set<string>; resolve: () => void }> = [];

  constructor(
    private readonly write: (state: InstanceState) => Promise<void>,
    private readonly onError: (state: InstanceState, err: unknown) => void,
    private readonly concurrency = 8,
  ) {}

  update(state: InstanceState): void {
    this.#queued.set(state.instanceId, state);
    this.#pump();
  }

  /** Forgets a queued write (the instance was purged). */
  discard(instanceId: string): void {
    this.#queued.delete(instanceId);
  }

  #pump(): void {
    if (this.#inFlight.size >= this.concurrency) return;
    for (const [id, state] of this.#queued) {
      if (this.#inFlight.size >= this.concurrency) break;
      if (this.#inFlight.has(id)) continue;
      this.#queued.delete(id);
      this.#inFlight.add(id);
      void this.write(state)
        .catch((err: unknown) => this.onError(state, err))
        .finally(() => {
          this.#inFlight.delete(id);
          this.#pump();
          this.#settleWaiters();
        });
    }
  }

  #settleWaiters(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i];
      for (const id of [...w.ids]) if (!this.#queued.has(id) && !this.#inFlight.has(id)) w.ids.delete(id);
      if (w.ids.size === 0) {
        this.#waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Resolves once every change made before the call is written: queries read their own writes. */
  async flush(): Promise<void> {
    const ids = new Set([...this.#queued.keys(), ...this.#inFlight]);
    if (ids.size === 0) return;
    await new Promise<void>((resolve) => this.#waiters.push({ ids, resolve }));
  }
}
