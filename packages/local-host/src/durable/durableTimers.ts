// Durable timers in memory: armed after the TimerCreated event is committed, re-armed from the history
// after a restart, so a timer fires once its instance is live again even if its time passed meanwhile.
const MAX_TIMEOUT_IN_MS = 2 ** 31 - 1;

export class DurableTimers {
  readonly #handles = new Map<string, NodeJS.Timeout>();
  #stopped = false;

  /** Calls `fire` at `fireAt` (at once when past). Re-arming a key replaces its timer. */
  arm(key: string, fireAt: string, fire: () => void): void {
    if (this.#stopped) return;
    this.cancel(key);
    const schedule = (): void => {
      const delay = Date.parse(fireAt) - Date.now();
      const handle = setTimeout(
        () => {
          // Node may wake a millisecond early by the wall clock; the orchestration must see time >= fireAt.
          if (Date.now() < Date.parse(fireAt)) return schedule();
          this.#handles.delete(key);
          fire();
        },
        Math.max(0, Math.min(delay + 1, MAX_TIMEOUT_IN_MS)),
      );
      handle.unref();
      this.#handles.set(key, handle);
    };
    schedule();
  }

  cancel(key: string): void {
    const handle = this.#handles.get(key);
    if (handle) clearTimeout(handle);
    this.#handles.delete(key);
  }

  /** Cancels every timer whose key starts with `prefix` (e.g. all of one instance). */
  cancelPrefix(prefix: string): void {
    for (const key of [...this.#handles.keys()]) if (key.startsWith(prefix)) this.cancel(key);
  }

  get armed(): number {
    return this.#handles.size;
  }

  stop(): void {
    this.#stopped = true;
    for (const handle of this.#handles.values()) clearTimeout(handle);
    this.#handles.clear();
  }
}
