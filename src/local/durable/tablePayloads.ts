// How the engine's values fit Azure Table storage: keys without the characters Table storage forbids,
// and JSON larger than one property (64 KiB) split over numbered properties of the same entity.
export class PayloadTooLargeError extends Error {
  constructor(what: string, chars: number) {
    super(
      `${what} is ${chars} characters of JSON, more than the local durable engine stores in one table row (about ${MAX_TOTAL_CHARS}). ` +
        'Pass large data by reference (e.g. a blob URL) instead of as an orchestration input, output or event payload.',
    );
    this.name = 'PayloadTooLargeError';
  }
}

/** 30,000 UTF-16 characters stay under Table storage's 64 KiB per string property. */
const CHUNK_CHARS = 30000;
/** Leaves room under the 1 MiB entity limit for the other properties. */
const MAX_CHUNKS = 15;
const MAX_TOTAL_CHARS = CHUNK_CHARS * MAX_CHUNKS;
/** The largest input, output or event payload accepted: room for it inside a state or inbox row. */
export const MAX_PAYLOAD_CHARS = MAX_TOTAL_CHARS - CHUNK_CHARS;

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
