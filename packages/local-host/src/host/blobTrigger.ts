// Blob triggers, as the Storage Blobs extension runs them with polling: each function's container is
// scanned; a blob whose path matches the trigger's pattern gets a receipt
// (`azure-webjobs-hosts/blobreceipts/<hostId>/<functionId>/<eTag>/<container>/<blob>` in the host's
// storage), so each version of each blob triggers once, across restarts; its trigger message goes to
// the host's queue `azure-webjobs-blobtrigger-<hostId>`, whose listener runs the function (retried up
// to host.json extensions.blobs.poisonBlobThreshold times, then moved to `webjobs-blobtrigger-poison`).
import type { ContainerClient } from '@azure/storage-blob';
import type { FunctionInvoker, HostService, RegisteredFunction } from './contracts';
import type { RpcTypedData } from './functionsCoreTypes';
import { resolveSettingReferences } from './appLoader';
import type { HostLogger } from './hostLog';
import { QueueListener, ReceivedMessage } from './queueListener';
import { encodeQueueMessage, QueueOptions } from './queueMessages';
import { DEFAULT_STORAGE_CONNECTION, storageConnection } from './storageConnections';

export const HOSTS_CONTAINER = 'azure-webjobs-hosts';
export const BLOB_TRIGGER_POISON_QUEUE = 'webjobs-blobtrigger-poison';
/** How often containers are scanned for new blobs and new versions. */
const SCAN_INTERVAL_IN_MS = 2000;
const RECEIPT_LEASE_IN_S = 30;

export interface BlobPathPattern {
  container: string;
  /** Literal start of the blob name, for listing. */
  prefix: string;
  match(blobName: string): Record<string, string> | undefined;
}

/** `container/{name}.png` → matcher; `{…}` parameters match any text, '/' included. */
export function compileBlobPathPattern(path: string, where: string): BlobPathPattern {
  const slash = path.indexOf('/');
  const container = slash < 0 ? path : path.slice(0, slash);
  const blobPattern = slash < 0 ? '' : path.slice(slash + 1);
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(container) && container !== '$root') {
    throw new Error(`${where}: '${container}' is not a container name (3-63 lower-case letters, digits and single hyphens; no binding expressions).`);
  }
  const names: string[] = [];
  let source = '^';
  let rest = blobPattern;
  for (let m = /\{([^{}]+)\}/.exec(rest); m; m = /\{([^{}]+)\}/.exec(rest)) {
    source += rest.slice(0, m.index).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    names.push(m[1]);
    source += '(.+?)';
    rest = rest.slice(m.index + m[0].length);
  }
  source += `${rest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${blobPattern ? '$' : ''}`;
  const regex = new RegExp(source);
  const brace = blobPattern.indexOf('{');
  return {
    container,
    prefix: brace < 0 ? blobPattern : blobPattern.slice(0, brace),
    match(blobName) {
      const m = regex.exec(blobName);
      if (!m) return undefined;
      return Object.fromEntries(names.map((n, i) => [n, m[i + 1]]));
    },
  };
}

interface BlobTriggerFunction {
  fn: RegisteredFunction;
  functionId: string;
  pattern: BlobPathPattern;
  container: ContainerClient;
  asString: boolean;
}

interface BlobTriggerMessage {
  Type: 'BlobTrigger';
  FunctionId: string;
  BlobType: string;
  ContainerName: string;
  BlobName: string;
  ETag: string;
}

/** ETags as the service sends them in headers, quoted (listings give them bare). */
function quotedETag(eTag: string): string {
  return eTag.startsWith('"') ? eTag : `"${eTag}"`;
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

export class BlobTriggers implements HostService {
  readonly #functions: BlobTriggerFunction[] = [];
  readonly #receipts: ContainerClient | undefined;
  readonly #listener: QueueListener | undefined;
  readonly #queueName: string;
  /** Blob versions known to have a completed receipt, so each scan checks storage only for new ones. */
  readonly #done = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly invoker: FunctionInvoker,
    readonly hostId: string,
    options: QueueOptions,
    private readonly logger: HostLogger,
  ) {
    this.#queueName = `azure-webjobs-blobtrigger-${hostId}`;
    for (const fn of invoker.list().filter((f) => f.triggerType === 'blobtrigger')) {
      const binding = fn.bindings[fn.triggerName] as Record<string, unknown>;
      try {
        const pattern = compileBlobPathPattern(resolveSettingReferences(String(binding.path ?? '')), 'the blob trigger path');
        this.#functions.push({
          fn,
          functionId: `Host.Functions.${fn.name}`,
          pattern,
          container: storageConnection(binding.connection).blobService().getContainerClient(pattern.container),
          asString: String(binding.dataType ?? '').toLowerCase() === 'string',
        });
      } catch (err) {
        // As the Functions host does with a function it cannot index: this one is off, the rest run.
        logger({ level: 'error', category: 'host', functionName: fn.name, message: `The blob trigger cannot start, so the function will not run: ${(err as Error).message}` });
        continue;
      }
      if (String(binding.source ?? '').toLowerCase() === 'eventgrid') {
        logger({ level: 'information', category: 'host', functionName: fn.name, message: "The blob trigger's source is EventGrid; the local host finds new blobs by scanning the container instead." });
      }
    }
    if (this.#functions.length === 0) return;
    // Receipts and the trigger queue live in the host's own storage, as in Azure.
    const host = storageConnection(DEFAULT_STORAGE_CONNECTION);
    this.#receipts = host.blobService().getContainerClient(HOSTS_CONTAINER);
    this.#listener = new QueueListener(
      host.queueService(),
      this.#queueName,
      options,
      (m) => this.#run(m),
      {
        failed: (m, err, willRetry) =>
          logger({ level: willRetry ? 'warning' : 'error', category: 'host', message: `A blob trigger failed (attempt ${m.dequeueCount} of ${options.maxDequeueCount}): ${err.message}${willRetry ? '; it is retried.' : ''}` }),
        poisoned: (m, poison, reason) => logger({ level: 'error', category: 'host', message: `Moved the blob trigger message ${m.text} to '${poison}': ${reason}` }),
        storageError: (err) => logger({ level: 'warning', category: 'host', message: `Blob trigger queue '${this.#queueName}': ${err.message}` }),
      },
      BLOB_TRIGGER_POISON_QUEUE,
    );
  }

  describe(): Array<{ name: string; path: string }> {
    return this.#functions.map((f) => ({ name: f.fn.name, path: `${f.pattern.container}/${f.pattern.prefix}…` }));
  }

  async start(): Promise<void> {
    if (!this.#listener) return;
    this.#listener.start();
    const tick = (): void => {
      if (this.#stopped) return;
      this.#scanning = this.#scan().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, SCAN_INTERVAL_IN_MS);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#scanning;
    await this.#listener?.stop();
  }

  async #scan(): Promise<void> {
    let enqueued = false;
    for (const t of this.#functions) {
      try {
        for await (const blob of t.container.listBlobsFlat({ prefix: t.pattern.prefix || undefined })) {
          if (this.#stopped) return;
          if (!blob.properties.etag || !t.pattern.match(blob.name)) continue;
          const eTag = quotedETag(blob.properties.etag);
          const key = `${t.functionId}\u0000${blob.name}\u0000${eTag}`;
          if (this.#done.has(key)) continue;
          if (await this.#claim(t, blob.name, eTag, blob.properties.blobType ?? 'BlockBlob')) enqueued = true;
        }
      } catch (err) {
        // A container that does not exist yet has no blobs.
        if (statusOf(err) !== 404) this.logger({ level: 'warning', category: 'host', functionName: t.fn.name, message: `Scanning container '${t.pattern.container}' failed: ${(err as Error).message}` });
      }
    }
    if (enqueued) this.#listener?.nudge();
  }

  /** Receipt, lease, message, completed receipt: the extension's steps, so a blob version triggers once. */
  async #claim(t: BlobTriggerFunction, blobName: string, eTag: string, blobType: string): Promise<boolean> {
    const key = `${t.functionId}\u0000${blobName}\u0000${eTag}`;
    const receipt = this.#receipts!.getBlockBlobClient(`blobreceipts/${this.hostId}/${t.functionId}/${eTag}/${t.pattern.container}/${blobName}`);
    const completed = async (): Promise<boolean | undefined> => {
      try {
        const props = await receipt.getProperties();
        return !Object.keys(props.metadata ?? {}).some((k) => k.toLowerCase() === 'incomplete');
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    };
    const state = await completed();
    if (state === true) {
      this.#done.add(key);
      return false;
    }
    if (state === undefined) {
      const create = (): Promise<unknown> => receipt.upload('', 0, { metadata: { Incomplete: 'true' }, conditions: { ifNoneMatch: '*' } });
      try {
        await create().catch(async (err: unknown) => {
          if (statusOf(err) !== 404) throw err;
          await this.#receipts!.createIfNotExists();
          await create();
        });
      } catch (err) {
        // Another host made the receipt first; it triggers, or this one does on the next scan.
        if (statusOf(err) === 409 || statusOf(err) === 412) return false;
        throw err;
      }
    }
    let leaseId: string;
    const leases = receipt.getBlobLeaseClient();
    try {
      leaseId = (await leases.acquireLease(RECEIPT_LEASE_IN_S)).leaseId!;
    } catch (err) {
      if (statusOf(err) === 409) return false;
      throw err;
    }
    try {
      if ((await completed()) === true) {
        this.#done.add(key);
        return false;
      }
      const message: BlobTriggerMessage = { Type: 'BlobTrigger', FunctionId: t.functionId, BlobType: blobType, ContainerName: t.pattern.container, BlobName: blobName, ETag: eTag };
      const queue = storageConnection(DEFAULT_STORAGE_CONNECTION).queueService().getQueueClient(this.#queueName);
      const text = encodeQueueMessage(JSON.stringify(message), 'base64');
      try {
        await queue.sendMessage(text);
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        await queue.createIfNotExists();
        await queue.sendMessage(text);
      }
      await receipt.setMetadata({}, { conditions: { leaseId } });
      this.#done.add(key);
      return true;
    } finally {
      await leases.releaseLease().catch(() => undefined);
    }
  }

  async #run(m: ReceivedMessage): Promise<void> {
    let message: BlobTriggerMessage;
    try {
      message = JSON.parse(m.text) as BlobTriggerMessage;
    } catch {
      throw new Error(`The blob trigger message is not JSON: ${m.text.slice(0, 200)}`);
    }
    const t = this.#functions.find((f) => f.functionId === message.FunctionId);
    if (!t) {
      this.logger({ level: 'warning', category: 'host', message: `A blob trigger message names function '${message.FunctionId}', which this app does not have; it is dropped.` });
      return;
    }
    const blob = t.container.getBlobClient(message.BlobName);
    let props: Awaited<ReturnType<typeof blob.getProperties>>;
    try {
      props = await blob.getProperties();
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw err;
    }
    // A newer version has its own receipt and message.
    if (!props.etag || quotedETag(props.etag) !== quotedETag(message.ETag)) {
      this.logger({ level: 'debug', category: 'host', functionName: t.fn.name, message: `Blob '${message.ContainerName}/${message.BlobName}' changed since version ${message.ETag} was found; the new version triggers on its own.` });
      return;
    }
    const content = await blob.downloadToBuffer();
    const params = t.pattern.match(message.BlobName) ?? {};
    const properties = {
      BlobType: props.blobType,
      ContentType: props.contentType,
      ContentLength: props.contentLength,
      ContentMD5: props.contentMD5 ? Buffer.from(props.contentMD5).toString('base64') : undefined,
      ContentEncoding: props.contentEncoding,
      ETag: props.etag,
      LastModified: props.lastModified?.toISOString(),
      CreatedOn: props.createdOn?.toISOString(),
    };
    const data: Record<string, unknown> = { ...params, BlobTrigger: `${message.ContainerName}/${message.BlobName}`, Uri: blob.url, Properties: properties, Metadata: props.metadata ?? {} };
    const metadata: Record<string, RpcTypedData> = {};
    for (const [k, v] of Object.entries(data)) metadata[k] = typeof v === 'string' ? { string: v } : { json: JSON.stringify(v) };
    const outcome = await this.invoker.invoke(t.fn.name, {
      inputData: [{ name: t.fn.triggerName, data: t.asString ? { string: content.toString('utf8') } : { bytes: content } }],
      triggerMetadata: metadata,
      bindingData: data,
    });
    if (!outcome.ok) throw new Error(`Function '${t.fn.name}' failed on blob '${message.ContainerName}/${message.BlobName}': ${outcome.error.message}`);
  }
}

/** The host ID receipts and the blob trigger queue are named by: the setting, or the app folder's name. */
export function localHostId(appDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.AzureFunctionsWebHost__hostid ?? env.AzureFunctionsWebHost__hostId;
  const raw = configured ?? appDir.split(/[\\/]/).filter(Boolean).pop() ?? 'local-host';
  const id = raw.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '').slice(0, 32).replace(/-$/, '');
  return id || 'local-host';
}
