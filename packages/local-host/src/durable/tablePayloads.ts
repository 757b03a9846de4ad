// How the engine's values fit Azure Table storage: keys without the characters Table storage forbids,
// JSON larger than one property (64 KiB) split over numbered properties of the same entity (values too
// large for a row go to blobs before they get here: payloadBlobs.ts), and rows
// grouped into transactions that stay under the service's limits (100 operations, 4 MiB of request).
import type { TransactionAction } from '@azure/data-tables';

export class PayloadTooLargeError extends Error {
  constructor(what: string, chars: number, detail?: string) {
    super(
      detail ??
        `${what} is ${chars} characters of JSON, more than the local durable engine stores in one table row (about ${MAX_TOTAL_CHARS}) once its large payloads are in blobs. ` +
          'Pass large data by reference (e.g. a blob URL) instead of as an orchestration input, output or event payload.',
    );
    this.name = 'PayloadTooLargeError';
  }

  /** Storage refused a write as too large (413 / EntityTooLarge): retrying cannot help. */
  static refusedByStorage(what: string, err: unknown): PayloadTooLargeError {
    const reason = String((err as { code?: string }).code ?? (err as { statusCode?: number }).statusCode ?? 'too large');
    return new PayloadTooLargeError(what, 0, `${what} is too large for Table storage (${reason}). Pass large data by reference (e.g. a blob URL) instead of as an activity result, orchestration input, output or event payload.`);
  }
}

/** Operations per entity-group transaction (the service's limit). */
export const MAX_TRANSACTION_OPS = 100;
/**
 * Request bytes per transaction we aim for: the service refuses bodies over 4 MiB; the rest is room for
 * each operation's multipart headers.
 */
export const MAX_TRANSACTION_BYTES = 3.5 * 1024 * 1024;
/** Per-operation multipart framing (headers, boundary) in a transaction body, generously. */
const OPERATION_OVERHEAD_BYTES = 1024;

/** 30,000 UTF-16 characters stay under Table storage's 64 KiB per string property. */
const CHUNK_CHARS = 30000;
/** Leaves room under the 1 MiB entity limit for the other properties. */
const MAX_CHUNKS = 15;
const MAX_TOTAL_CHARS = CHUNK_CHARS * MAX_CHUNKS;
/** The most text one row holds across its packed properties (the rest of the entity is small fields). */
export const MAX_ROW_TEXT_CHARS = MAX_TOTAL_CHARS;
/**
 * The largest input, output or event payload accepted. Payloads too large for a row are stored as blobs
 * (payloadBlobs.ts); this bounds what one step holds in memory and sends to a worker.
 */
export const MAX_PAYLOAD_CHARS = 16 * 1024 * 1024;

/** Escapes `/ \ # ?`, control characters and `%` (the escape character itself) as %XX. */
export function escapeTableKey(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[%/\\#?\u0000-\u001f\u007f-\u009f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

export function unescapeTableKey(value: string): string {
  return value.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Writes `text` as `name`, `name_1`, `name_2`... and `nameChunks` when it needs more than one. */
export function packText(entity: Record<string, unknown>, name: string, text: string | undefined, what: string): void {
  if (text === undefined) return;
  if (text.length <= CHUNK_CHARS) {
    entity[name] = text;
    return;
  }
  if (text.length > MAX_TOTAL_CHARS) throw new PayloadTooLargeError(what, text.length);
  const chunks = Math.ceil(text.length / CHUNK_CHARS);
  for (let i = 0; i < chunks; i++) entity[i === 0 ? name : `${name}_${i}`] = text.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  entity[`${name}Chunks`] = chunks;
}

export function unpackText(entity: Record<string, unknown>, name: string): string | undefined {
  const first = entity[name];
  if (typeof first !== 'string') return undefined;
  const chunks = typeof entity[`${name}Chunks`] === 'number' ? (entity[`${name}Chunks`] as number) : 1;
  if (chunks <= 1) return first;
  let text = first;
  for (let i = 1; i < chunks; i++) text += String(entity[`${name}_${i}`] ?? '');
  return text;
}

/** Bytes an entity adds to a request body, as the SDK serialises it (JSON, UTF-8). */
export function entityRequestBytes(entity: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(entity)) + OPERATION_OVERHEAD_BYTES;
}

/**
 * Splits operations into transactions of at most MAX_TRANSACTION_OPS operations and
 * MAX_TRANSACTION_BYTES bytes, keeping their order. An operation larger than a transaction on its own
 * goes alone (the service then refuses it, and the caller reports why).
 */
export function transactionBatches(actions: TransactionAction[]): TransactionAction[][] {
  const batches: TransactionAction[][] = [];
  let batch: TransactionAction[] = [];
  let bytes = 0;
  for (const action of actions) {
    const size = action[0] === 'delete' ? OPERATION_OVERHEAD_BYTES : entityRequestBytes(action[1] as Record<string, unknown>);
    if (batch.length > 0 && (batch.length >= MAX_TRANSACTION_OPS || bytes + size > MAX_TRANSACTION_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(action);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** The service's answer to a request or entity it will never accept, however often it is sent. */
export function isTooLargeForStorage(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: string; message?: string };
  return e.statusCode === 413 || e.code === 'RequestBodyTooLarge' || e.code === 'EntityTooLarge' || /EntityTooLarge|RequestBodyTooLarge/.test(String(e.message ?? ''));
}
