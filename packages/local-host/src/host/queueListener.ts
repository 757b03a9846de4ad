// Polls one storage queue and runs a handler per message, as the Storage Queues extension's listener
// does: batches of `batchSize`, a new batch once no more than `newBatchThreshold` are in flight; a
// message stays invisible while it runs (extended while it takes long), is deleted when the handler
// succeeds, made visible again after `visibilityTimeout` when it fails, and moved to the poison queue
// once it has failed `maxDequeueCount` times. An empty queue is polled with a randomised exponential
// backoff up to `maxPollingInterval`; a message this host itself wrote wakes the listener at once.
import type { QueueClient, QueueServiceClient, DequeuedMessageItem } from '@azure/storage-queue';
import { decodeQueueMessage, QueueMessageDecodingError, QueueOptions } from './queueMessages';

const MIN_POLLING_INTERVAL_IN_MS = 100;
/** How long a received message stays invisible, renewed at half that while its handler runs. */
const RECEIVE_VISIBILITY_IN_S = 600;
const RETRY_AFTER_STORAGE_ERROR_IN_MS = 2000;

export interface ReceivedMessage {
  /** The decoded text the function gets. */
  text: string;
  /** The text as stored (what the poison queue gets). */
  raw: string;
  id: string;
  dequeueCount: number;
  insertedOn?: Date;
  expiresOn?: Date;
  nextVisibleOn?: Date;
  popReceipt: string;
}

export interface QueueListenerEvents {
  /** A message went to the poison queue. */
  poisoned(message: ReceivedMessage, poisonQueue: string, reason: string): void;
  /** The handler failed; the message comes back after the visibility timeout. */
  failed(message: ReceivedMessage, err: Error, willRetry: boolean): void;
  storageError(err: Error): void;
}

export class QueueListener {
  readonly #queue: QueueClient;
  readonly #poison: QueueClient;
  #stopped = true;
  #inFlight = 0;
  #wake: (() => void) | undefined;
  #delayInMs = MIN_POLLING_INTERVAL_IN_MS;
  #loop: Promise<void> | undefined;
  readonly #running = new Set<Promise<void>>();

  readonly poisonQueueName: string;

  constructor(
    service: QueueServiceClient,
    readonly queueName: string,
    private readonly options: QueueOptions,
    private readonly handler: (message: ReceivedMessage) => Promise<void>,
    private readonly events: QueueListenerEvents,
    /** Default `<queue>-poison`, as for queue triggers. */
    poisonQueueName = `${queueName}-poison`,
  ) {
    this.poisonQueueName = poisonQueueName;
    this.#queue = service.getQueueClient(queueName);
    this.#poison = service.getQueueClient(poisonQueueName);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    await Promise.allSettled([...this.#running]);
  }

  /** Polls now (a message was just written to this queue). */
  nudge(): void {
    this.#delayInMs = MIN_POLLING_INTERVAL_IN_MS;
    this.#wake?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      if (this.#inFlight > this.options.newBatchThreshold) {
        await this.#sleep(this.#delayInMs);
        continue;
      }
      let batch: DequeuedMessageItem[];
      try {
        batch = (await this.#queue.receiveMessages({ numberOfMessages: this.options.batchSize, visibilityTimeout: RECEIVE_VISIBILITY_IN_S })).receivedMessageItems;
      } catch (err) {
        // A queue nobody created yet is an empty queue.
        if ((err as { statusCode?: number }).statusCode !== 404) this.events.storageError(err as Error);
        batch = [];
        if ((err as { statusCode?: number }).statusCode !== 404) await this.#sleep(RETRY_AFTER_STORAGE_ERROR_IN_MS);
      }
      if (this.#stopped) {
        // Received while stopping: visible again now rather than after the receive's invisibility.
        await Promise.allSettled(batch.map((m) => this.#queue.updateMessage(m.messageId, m.popReceipt, undefined, 0)));
        break;
      }
      if (batch.length === 0) {
        const jittered = this.#delayInMs * (0.8 + Math.random() * 0.4);
        await this.#sleep(jittered);
        this.#delayInMs = Math.min(this.options.maxPollingIntervalInMs, this.#delayInMs * 2);
        continue;
      }
      this.#delayInMs = MIN_POLLING_INTERVAL_IN_MS;
      for (const item of batch) {
        this.#inFlight++;
        const done = this.#process(item)
          .catch((err: unknown) => this.events.storageError(err as Error))
          .finally(() => {
          this.#inFlight--;
          this.#running.delete(done);
          if (this.#inFlight <= this.options.newBatchThreshold) this.#wake?.();
        });
        this.#running.add(done);
      }
    }
  }

  async #process(item: DequeuedMessageItem): Promise<void> {
    let popReceipt = item.popReceipt;
    const base: Omit<ReceivedMessage, 'text'> = {
      raw: item.messageText,
      id: item.messageId,
      dequeueCount: item.dequeueCount,
      insertedOn: item.insertedOn,
      expiresOn: item.expiresOn,
      nextVisibleOn: item.nextVisibleOn,
      popReceipt,
    };
    let message: ReceivedMessage;
    try {
      message = { ...base, text: decodeQueueMessage(item.messageText, this.options.messageEncoding) };
    } catch (err) {
      if (!(err instanceof QueueMessageDecodingError)) throw err;
      await this.#toPoison({ ...base, text: item.messageText }, popReceipt, err.message);
      return;
    }
    const renew = setInterval(() => {
      void this.#queue
        .updateMessage(item.messageId, popReceipt, undefined, RECEIVE_VISIBILITY_IN_S)
        .then((r) => {
          if (r.popReceipt) popReceipt = r.popReceipt;
        })
        .catch((err: unknown) => this.events.storageError(err as Error));
    }, (RECEIVE_VISIBILITY_IN_S / 2) * 1000);
    renew.unref();
    let failure: Error | undefined;
    try {
      await this.handler(message);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    } finally {
      clearInterval(renew);
    }
    try {
      if (!failure) {
        await this.#queue.deleteMessage(item.messageId, popReceipt);
      } else if (item.dequeueCount >= this.options.maxDequeueCount) {
        this.events.failed(message, failure, false);
        await this.#toPoison(message, popReceipt, `it failed ${item.dequeueCount} time(s) (maxDequeueCount ${this.options.maxDequeueCount}): ${failure.message}`);
      } else {
        this.events.failed(message, failure, true);
        await this.#queue.updateMessage(item.messageId, popReceipt, undefined, Math.round(this.options.visibilityTimeoutInMs / 1000));
      }
    } catch (err) {
      // The message comes back when its invisibility ends; nothing is lost.
      this.events.storageError(err as Error);
    }
  }

  async #toPoison(message: ReceivedMessage, popReceipt: string, reason: string): Promise<void> {
    try {
      await this.#poison.sendMessage(message.raw);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      await this.#poison.createIfNotExists();
      await this.#poison.sendMessage(message.raw);
    }
    await this.#queue.deleteMessage(message.id, popReceipt);
    this.events.poisoned(message, this.poisonQueueName, reason);
  }
}
