// The Storage input and output bindings the local host serves against any storage account a connection
// names (Azurite locally): blob input and output, queue output, table input and output. Values travel as
// the Node worker sends them: blob contents as bytes (or text with `dataType: 'string'`), table rows as
// JSON; outputs are written after the function succeeded, and a failed write fails the invocation, as
// in Azure.
import { odata } from '@azure/data-tables';
import type { RegisteredFunction } from './contracts';
import type { RpcTypedData } from './functionsCoreTypes';
import { BindingData, resolveBindingExpression } from './bindingExpressions';
import { storageConnection } from './storageConnections';
import { encodeQueueMessage, QueueMessageEncoding } from './queueMessages';

type Binding = Record<string, unknown>;

export class BindingValueError extends Error {}

/** `container/blob/path` → its parts. */
export function splitBlobPath(path: string, where: string): { container: string; blobName: string } {
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw new BindingValueError(`${where}: the blob path '${path}' must be 'container/blob name'.`);
  return { container: path.slice(0, slash), blobName: path.slice(slash + 1) };
}

function where(fn: RegisteredFunction, bindingName: string, binding: Binding): string {
  return `Function '${fn.name}', ${String(binding.direction)} binding '${bindingName}' (${String(binding.type)})`;
}

function isMissing(err: unknown): boolean {
  const status = (err as { statusCode?: number }).statusCode;
  return status === 404;
}

/** The value a function produced for an output binding, as JavaScript. */
export function outputValue(data: RpcTypedData): unknown {
  if (data.string !== undefined && data.string !== null) return data.string;
  if (data.json !== undefined && data.json !== null) return JSON.parse(data.json) as unknown;
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.stream) return Buffer.from(data.stream);
  if (data.int !== undefined && data.int !== null) return Number(data.int);
  if (data.double !== undefined && data.double !== null) return data.double;
  if (data.collectionString?.string) return data.collectionString.string;
  if (data.collectionBytes?.bytes) return data.collectionBytes.bytes.map((b) => Buffer.from(b));
  if (data.collectionDouble?.double) return data.collectionDouble.double;
  if (data.collectionSint64?.sint64) return data.collectionSint64.sint64.map(Number);
  return undefined;
}

function asBytes(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(JSON.stringify(value), 'utf8');
}

// ---- inputs ------------------------------------------------------------------------------------------

export async function readBlobInput(fn: RegisteredFunction, bindingName: string, binding: Binding, data: BindingData): Promise<RpcTypedData | undefined> {
  const at = where(fn, bindingName, binding);
  const { container, blobName } = splitBlobPath(resolveBindingExpression(String(binding.path ?? ''), data), at);
  const client = storageConnection(binding.connection).blobService().getContainerClient(container).getBlobClient(blobName);
  let content: Buffer;
  try {
    content = await client.downloadToBuffer();
  } catch (err) {
    // A blob that does not exist binds as null, as in Azure.
    if (isMissing(err)) return undefined;
    throw err;
  }
  return String(binding.dataType ?? '').toLowerCase() === 'string' ? { string: content.toString('utf8') } : { bytes: content };
}

/** Table rows as the extension hands them to a Node function: the properties plus PartitionKey, RowKey, Timestamp. */
function rowAsJson(entity: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entity)) {
    if (k === 'etag' || k === 'odata.metadata' || k === '_response') continue;
    if (k === 'partitionKey') out.PartitionKey = v;
    else if (k === 'rowKey') out.RowKey = v;
    else if (k === 'timestamp') out.Timestamp = v;
    else out[k] = v;
  }
  return out;
}

export async function readTableInput(fn: RegisteredFunction, bindingName: string, binding: Binding, data: BindingData): Promise<RpcTypedData | undefined> {
  const at = where(fn, bindingName, binding);
  const tableName = resolveBindingExpression(String(binding.tableName ?? ''), data);
  if (!tableName) throw new BindingValueError(`${at}: tableName is required.`);
  const table = storageConnection(binding.connection).table(tableName);
  const partitionKey = typeof binding.partitionKey === 'string' ? resolveBindingExpression(binding.partitionKey, data) : undefined;
  const rowKey = typeof binding.rowKey === 'string' ? resolveBindingExpression(binding.rowKey, data) : undefined;
  if (rowKey !== undefined) {
    if (partitionKey === undefined) throw new BindingValueError(`${at}: a rowKey needs a partitionKey.`);
    try {
      return { json: JSON.stringify(rowAsJson(await table.getEntity<Record<string, unknown>>(partitionKey, rowKey))) };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }
  const filters: string[] = [];
  if (partitionKey !== undefined) filters.push(odata`PartitionKey eq ${partitionKey}`);
  if (typeof binding.filter === 'string' && binding.filter.trim()) filters.push(`(${resolveBindingExpression(binding.filter, data)})`);
  const take = binding.take === undefined ? undefined : Number(binding.take);
  if (take !== undefined && (!Number.isInteger(take) || take < 1)) throw new BindingValueError(`${at}: take must be a positive whole number (got ${String(binding.take)}).`);
  const rows: Array<Record<string, unknown>> = [];
  try {
    for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: filters.length ? { filter: filters.join(' and ') } : undefined })) {
      rows.push(rowAsJson(entity));
      if (take !== undefined && rows.length >= take) break;
    }
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  return { json: JSON.stringify(rows) };
}

// ---- outputs -----------------------------------------------------------------------------------------

export interface OutputContext {
  data: BindingData;
  queueEncoding: QueueMessageEncoding;
  /** Tells the host a message went to a queue (its URL), so its own listener polls now. */
  queueWritten?(queueUrl: string): void;
}

export async function writeBlobOutput(fn: RegisteredFunction, bindingName: string, binding: Binding, value: unknown, ctx: OutputContext): Promise<void> {
  const at = where(fn, bindingName, binding);
  if (value === undefined || value === null) return;
  const { container, blobName } = splitBlobPath(resolveBindingExpression(String(binding.path ?? ''), ctx.data), at);
  const containerClient = storageConnection(binding.connection).blobService().getContainerClient(container);
  const content = asBytes(value);
  const upload = (): Promise<unknown> => containerClient.getBlockBlobClient(blobName).upload(content, content.length);
  try {
    await upload();
  } catch (err) {
    if (!isMissing(err)) throw err;
    await containerClient.createIfNotExists();
    await upload();
  }
}

export async function writeQueueOutput(fn: RegisteredFunction, bindingName: string, binding: Binding, value: unknown, ctx: OutputContext): Promise<void> {
  const at = where(fn, bindingName, binding);
  if (value === undefined || value === null) return;
  const queueName = resolveBindingExpression(String(binding.queueName ?? ''), ctx.data).toLowerCase();
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(queueName)) throw new BindingValueError(`${at}: '${queueName}' is not a valid queue name (3-63 lower-case letters, digits and single hyphens).`);
  const service = storageConnection(binding.connection).queueService();
  const queue = service.getQueueClient(queueName);
  // An array is one message per element, as the Node worker's collector writes it.
  const messages = Array.isArray(value) ? value : [value];
  let created = false;
  for (const message of messages) {
    const text = encodeQueueMessage(Buffer.isBuffer(message) ? message : typeof message === 'string' ? message : JSON.stringify(message), ctx.queueEncoding);
    try {
      await queue.sendMessage(text);
    } catch (err) {
      if (!isMissing(err) || created) throw err;
      await queue.createIfNotExists();
      created = true;
      await queue.sendMessage(text);
    }
  }
  ctx.queueWritten?.(`${service.url.replace(/\/+$/, '')}/${queueName}`);
}

export async function writeTableOutput(fn: RegisteredFunction, bindingName: string, binding: Binding, value: unknown, ctx: OutputContext): Promise<void> {
  const at = where(fn, bindingName, binding);
  if (value === undefined || value === null) return;
  const tableName = resolveBindingExpression(String(binding.tableName ?? ''), ctx.data);
  if (!tableName) throw new BindingValueError(`${at}: tableName is required.`);
  const table = storageConnection(binding.connection).table(tableName);
  const defaults = {
    partitionKey: typeof binding.partitionKey === 'string' ? resolveBindingExpression(binding.partitionKey, ctx.data) : undefined,
    rowKey: typeof binding.rowKey === 'string' ? resolveBindingExpression(binding.rowKey, ctx.data) : undefined,
  };
  const rows = Array.isArray(value) ? value : [value];
  let created = false;
  for (const row of rows) {
    if (!row || typeof row !== 'object' || Buffer.isBuffer(row)) throw new BindingValueError(`${at}: each entity must be an object with PartitionKey and RowKey.`);
    const { PartitionKey, RowKey, partitionKey, rowKey, Timestamp: _ignored, ...properties } = row as Record<string, unknown>;
    const pk = PartitionKey ?? partitionKey ?? defaults.partitionKey;
    const rk = RowKey ?? rowKey ?? defaults.rowKey;
    if (typeof pk !== 'string' || typeof rk !== 'string') throw new BindingValueError(`${at}: an entity needs PartitionKey and RowKey strings (in the entity or on the binding).`);
    const entity = { partitionKey: pk, rowKey: rk, ...properties };
    try {
      await table.createEntity(entity);
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 409) {
        throw new BindingValueError(`${at}: the entity '${pk}'/'${rk}' already exists in table '${tableName}'; the table output binding only creates new entities (update existing ones with the Tables SDK).`);
      }
      if (!isMissing(err) || created) throw err;
      await table.createTable();
      created = true;
      await table.createEntity(entity);
    }
  }
}
