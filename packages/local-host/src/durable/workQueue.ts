// A FIFO of async jobs run at most `concurrency` at a time: how the engine bounds activities
// (maxConcurrentActivityFunctions) without holding up the orchestrations that scheduled them.
export class WorkQueue<T> {
  readonly #queue: T[] = [];
  #head = 0;
  #running = 0;
  #stopped = false;
  #idleWaiters: Array<() => void> = [];

  constructor(
    readonly concurrency: number,
    private readonly run: (job: T) => Promise<void>,
    private readonly onError: (job: T, err: unknown) => void,
  ) {
    if (!(concurrency >= 1)) throw new RangeError('concurrency must be at least 1');
  }

  get size(): number {
    return this.#queue.length - this.#head + this.#running;
  }

  push(job: T): void {
    if (this.#stopped) return;
    this.#queue.push(job);
    this.#pump();
  }

  #pump(): void {
    while (!this.#stopped && this.#running < this.concurrency && this.#head < this.#queue.length) {
      const job = this.#queue[this.#head++];
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      this.#running++;
      this.run(job).then(this.#done, (err: unknown) => {
        this.onError(job, err);
        this.#done();
      });
    }
  }

  /** One job finished (a bound method: one closure for the queue, not two promises per job). */
  readonly #done = (): void => {
    this.#running--;
    this.#pump();
    if (this.#running === 0) for (const w of this.#idleWaiters.splice(0)) w();
  };

  /** Stops starting jobs; resolves when the running ones finished. Queued jobs are dropped. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#head = 0;
    if (this.#running === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }
}
