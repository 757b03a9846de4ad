// Queue triggers: one listener per function on its queue (`queueName`, `%SETTING%` allowed) in the
// account its `connection` names, passing the message (decoded per host.json messageEncoding) and the
// metadata the Storage Queues extension gives (QueueTrigger, DequeueCount, Id, PopReceipt,
// InsertionTime, ExpirationTime, NextVisibleTime). Retries and poison queues: see queueListener.ts.
import type { FunctionInvoker, HostService, RegisteredFunction } from './contracts';
import type { RpcTypedData } from './functionsCoreTypes';
import { resolveSettingReferences } from './appLoader';
import type { HostLogger } from './hostLog';
import { QueueListener, ReceivedMessage } from './queueListener';
import type { QueueOptions } from './queueMessages';
import { storageConnection } from './storageConnections';

export interface QueueMessageSource {
  /** The queue's URL (account + name), to match writes to it. */
  url: string;
  listener: QueueListener;
}

/** Trigger metadata and binding data for one message, as the extension names them. */
export function queueMessageBindingData(m: ReceivedMessage): { metadata: Record<string, RpcTypedData>; data: Record<string, unknown> } {
  const data: Record<string, unknown> = {
    QueueTrigger: m.text,
    DequeueCount: m.dequeueCount,
    Id: m.id,
    PopReceipt: m.popReceipt,
    InsertionTime: m.insertedOn,
    ExpirationTime: m.expiresOn,
    NextVisibleTime: m.nextVisibleOn,
  };
  const metadata: Record<string, RpcTypedData> = {};
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined) continue;
    metadata[k] = typeof v === 'number' ? { int: v } : { string: v instanceof Date ? v.toISOString() : String(v) };
  }
  return { metadata, data };
}

export class QueueTriggers implements HostService {
  readonly sources: Array<QueueMessageSource & { fn: RegisteredFunction }> = [];

  constructor(invoker: FunctionInvoker, options: QueueOptions, private readonly logger: HostLogger) {
    for (const fn of invoker.list().filter((f) => f.triggerType === 'queuetrigger')) {
      try {
        this.#listen(invoker, fn, options);
      } catch (err) {
        // As the Functions host does with a function it cannot index: this one is off, the rest run.
        logger({ level: 'error', category: 'host', functionName: fn.name, message: `The queue trigger cannot start, so the function will not run: ${(err as Error).message}` });
      }
    }
  }

  #listen(invoker: FunctionInvoker, fn: RegisteredFunction, options: QueueOptions): void {
    const logger = this.logger;
    const binding = fn.bindings[fn.triggerName] as Record<string, unknown>;
    const queueName = resolveSettingReferences(String(binding.queueName ?? '')).toLowerCase();
    if (!queueName) throw new Error('the queue trigger needs a queueName.');
    const service = storageConnection(binding.connection).queueService();
    const listener = new QueueListener(
      service,
      queueName,
      options,
      async (m) => {
        const { metadata, data } = queueMessageBindingData(m);
        const outcome = await invoker.invoke(fn.name, { inputData: [{ name: fn.triggerName, data: { string: m.text } }], triggerMetadata: metadata, bindingData: data });
        if (!outcome.ok) throw outcome.error;
      },
      {
        failed: (m, err, willRetry) =>
          logger({
            level: willRetry ? 'warning' : 'error',
            category: 'host',
            functionName: fn.name,
            message: `Failed on message ${m.id} from queue '${queueName}' (attempt ${m.dequeueCount} of ${options.maxDequeueCount}): ${err.message}${willRetry ? `; it is retried after the visibility timeout (${options.visibilityTimeoutInMs} ms).` : ''}`,
          }),
        poisoned: (m, poison, reason) =>
          logger({ level: 'error', category: 'host', functionName: fn.name, message: `Moved message ${m.id} from queue '${queueName}' to '${poison}': ${reason}` }),
        storageError: (err) => logger({ level: 'warning', category: 'host', functionName: fn.name, message: `Queue '${queueName}': ${err.message}` }),
      },
    );
    this.sources.push({ fn, url: `${service.url.replace(/\/+$/, '')}/${queueName}`, listener });
  }

  describe(): Array<{ name: string; queue: string }> {
    return this.sources.map((s) => ({ name: s.fn.name, queue: s.listener.queueName }));
  }

  async start(): Promise<void> {
    for (const s of this.sources) s.listener.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.listener.stop()));
  }

  /** A function of this host wrote to `queueUrl`: its listeners poll now, as the extension's queue watcher does. */
  written(queueUrl: string): void {
    for (const s of this.sources) if (s.url === queueUrl) s.listener.nudge();
  }
}
