// Payloads too large for a table row, kept as blobs in the task hub's `<hub>-largemessages` container
// (as the Durable Task Azure Storage provider does): the row, journal record or message holds a short
// reference instead. Two kinds of reference, both JSON strings starting with a NUL character (which no
// JSON text and no name the engine writes starts with):
//   "\u0000blob:<name>"  a long string value (an input, output, custom status, event or result payload);
//   "\u0000json:<name>"  a whole JSON value whose text stays too long once its long strings are out
//                        (an instance state holding thousands of pending activity inputs, say).
// Blobs are named `<instance ID, URI-encoded>/<sha256 of the text>`: a retried step writes the same
// blob again, and purging an instance deletes everything under its prefix. A blob is written before
// the text that refers to it is returned, so no committed row refers to a blob that is not there; a
// crash in between leaves at most a blob nothing refers to, deleted with its instance.
import { createHash } from 'node:crypto';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';

const STRING_MARK = '\u0000blob:';
const JSON_MARK = '\u0000json:';
/** Strings longer than this (UTF-16 characters) go to a blob: about one table property. */
export const BLOB_STRING_CHARS = 30000;

export interface EncodedJson {
  json: string;
  /** The blob holding the value whole, when its text was longer than `wholeOverChars`. */
  wholeBlob?: string;
}

function isReference(value: string): boolean {
  return value.startsWith(STRING_MARK) || value.startsWith(JSON_MARK);
}

export class PayloadBlobs {
  readonly container: ContainerClient;
  /** Blobs known to exist (written or read by this process): not written again. */
  readonly #known = new Set<string>();

  constructor(connectionString: string, taskHubName: string) {
    const service = BlobServiceClient.fromConnectionString(connectionString);
    this.container = service.getContainerClient(`${taskHubName.toLowerCase()}-largemessages`);
  }

  async initialize(): Promise<void> {
    await this.container.createIfNotExists();
  }

  static prefixOf(instanceId: string): string {
    return `${encodeURIComponent(instanceId)}/`;
  }

  /**
   * The JSON text of `value` when it needs no blob: no string in it is longer than BLOB_STRING_CHARS
   * and the text is within `wholeOverChars`. Undefined when `encode` must store something.
   */
  plainJson(value: unknown, wholeOverChars = Infinity): string | undefined {
    // JSON text never shortens a string, so a text within the limit holds no string over it.
    const plain = JSON.stringify(value) as string | undefined;
    return plain !== undefined && plain.length <= BLOB_STRING_CHARS && plain.length <= wholeOverChars ? plain : undefined;
  }

  /**
   * The JSON text of `value` with every string longer than BLOB_STRING_CHARS replaced by a reference
   * to a blob of `owner`; when the text is still longer than `wholeOverChars`, a reference to a blob
   * holding that text. Resolves once every blob it refers to is stored.
   */
  async encode(owner: string, value: unknown, wholeOverChars = Infinity): Promise<EncodedJson> {
    // Nearly every value is written as it is, without the replacer (which costs a call per key).
    const plain = this.plainJson(value, wholeOverChars);
    if (plain !== undefined) return { json: plain };
    const uploads = new Map<string, string>();
    const prefix = PayloadBlobs.prefixOf(owner);
    const json = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v !== 'string' || v.length <= BLOB_STRING_CHARS || isReference(v)) return v;
      const name = prefix + createHash('sha256').update(v).digest('hex');
      if (!this.#known.has(name)) uploads.set(name, v);
      return STRING_MARK + name;
    });
    if (json === undefined) throw new TypeError(`A value of instance '${owner}' has no JSON form.`);
    let wholeBlob: string | undefined;
    let out = json;
    if (json.length > wholeOverChars) {
      wholeBlob = prefix + createHash('sha256').update(json).digest('hex');
      if (!this.#known.has(wholeBlob)) uploads.set(wholeBlob, json);
      out = JSON.stringify(JSON_MARK + wholeBlob);
    }
    await Promise.all([...uploads].map(([name, text]) => this.#upload(name, text)));
    return { json: out, wholeBlob };
  }

  async #upload(name: string, text: string): Promise<void> {
    const body = Buffer.from(text, 'utf8');
    try {
      await this.container.getBlockBlobClient(name).upload(body, body.length, { blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' } });
    } catch (err) {
      throw new Error(`Storing a large payload as blob '${name}' in container '${this.container.containerName}' failed: ${(err as Error).message}. The step is retried.`, { cause: err });
    }
    this.#known.add(name);
  }

  async #download(name: string): Promise<string> {
    try {
      const text = (await this.container.getBlockBlobClient(name).downloadToBuffer()).toString('utf8');
      this.#known.add(name);
      return text;
    } catch (err) {
      throw new Error(`The large payload blob '${name}' in container '${this.container.containerName}' could not be read: ${(err as Error).message}.`, { cause: err });
    }
  }

  /** A whole-value reference opened one level (its long strings stay references); other values as they are. */
  async openWhole<T>(value: T | string): Promise<T> {
    if (typeof value === 'string' && value.startsWith(JSON_MARK)) return JSON.parse(await this.#download(value.slice(JSON_MARK.length))) as T;
    return value as T;
  }

  /** `value` with every reference replaced by what it refers to (in place where it is an object). */
  async resolve<T>(value: T): Promise<T> {
    if (typeof value === 'string') {
      if (value.startsWith(STRING_MARK)) return (await this.#download(value.slice(STRING_MARK.length))) as T;
      if (value.startsWith(JSON_MARK)) return this.resolve(JSON.parse(await this.#download(value.slice(JSON_MARK.length))) as T);
      return value;
    }
    if (value === null || typeof value !== 'object') return value;
    const pending: Array<Promise<void>> = [];
    const visit = (holder: Record<string, unknown> | unknown[], key: string | number, v: unknown): void => {
      if (typeof v === 'string') {
        if (isReference(v)) pending.push(this.resolve(v).then((r) => void ((holder as Record<string | number, unknown>)[key] = r)));
      } else if (v !== null && typeof v === 'object') {
        if (Array.isArray(v)) v.forEach((item, i) => visit(v, i, item));
        else for (const [k, item] of Object.entries(v)) visit(v as Record<string, unknown>, k, item);
      }
    };
    if (Array.isArray(value)) value.forEach((item, i) => visit(value, i, item));
    else for (const [k, item] of Object.entries(value)) visit(value as Record<string, unknown>, k, item);
    await Promise.all(pending);
    return value;
  }

  /** JSON text parsed with its references resolved. */
  async parse<T>(json: string): Promise<T> {
    return this.resolve(JSON.parse(json) as T);
  }

  async delete(names: string[]): Promise<void> {
    await Promise.all(names.map((name) => this.container.deleteBlob(name).catch((err: unknown) => {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    })));
    for (const name of names) this.#known.delete(name);
  }

  /** Deletes every blob of an instance; the number deleted. */
  async purge(instanceId: string): Promise<number> {
    const names: string[] = [];
    for await (const blob of this.container.listBlobsFlat({ prefix: PayloadBlobs.prefixOf(instanceId) })) names.push(blob.name);
    await this.delete(names);
    return names.length;
  }
}
