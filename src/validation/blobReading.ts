// Reading job outputs and inputs from Blob Storage as streams, never whole: a download is consumed
// chunk by chunk as it arrives. A blob that is not there is an answer (`undefined`), because a missing
// output is a validation failure; every other storage error is classified transient or permanent so
// the activity calling us can retry the first kind and fail the run on the second.
import type { ContainerClient } from '@azure/storage-blob';
import { PermanentError, rethrowClassified, TransientError } from '../azure/errorClassification';

export interface BlobReadOptions {
  abortSignal?: AbortSignal;
}

export interface OpenedBlob {
  name: string;
  contentLength: number;
  /** The body, chunk by chunk; read it once. Errors while streaming are classified like the request's. */
  chunks: AsyncIterable<Buffer>;
}

/** An AbortError: the caller's cancellation, or the SDK's report of a connection closed under it. */
function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

function statusOf(err: unknown): number | undefined {
  const status = typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

/**
 * Throws a storage error as the activity should see it. An AbortError is the caller's cancellation only
 * when the caller's signal fired; otherwise it is the SDK's way of reporting a connection that closed
 * under it, which is a network failure like any other (and a name-based classifier would call it permanent).
 */
export function rethrowStorageError(err: unknown, doing: string, abortSignal: AbortSignal | undefined): never {
  if (isAbortError(err)) {
    if (abortSignal?.aborted) throw err;
    throw new TransientError(`${doing} failed: the connection closed before the answer arrived (${(err as Error).message})`, { code: 'ECONNRESET' });
  }
  rethrowClassified(err, doing);
}

function describe(container: ContainerClient, blobName: string): string {
  return `reading blob '${blobName}' in container '${container.containerName}'`;
}

/** How often a body that breaks mid-stream is picked up again from where it stopped. */
const MAX_RESUMES = 3;

/**
 * Opens a blob for streaming; undefined when it (or its container) does not exist. A body that breaks
 * off is resumed from the byte where it stopped (pinned to the blob's ETag, so a blob replaced meanwhile
 * is never stitched together from two versions); when that keeps failing, a TransientError is thrown.
 */
export async function openBlob(container: ContainerClient, blobName: string, options: BlobReadOptions = {}): Promise<OpenedBlob | undefined> {
  const client = container.getBlobClient(blobName);
  const doing = describe(container, blobName);
  const callerAborted = (): boolean => options.abortSignal?.aborted === true;
  let first: Awaited<ReturnType<typeof client.download>>;
  try {
    first = await client.download(0, undefined, { abortSignal: options.abortSignal, maxRetryRequests: 5 });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    rethrowStorageError(err, doing, options.abortSignal);
  }
  const contentLength = first.contentLength ?? 0;
  const etag = first.etag;

  const reopenAt = async (offset: number): Promise<typeof first.readableStreamBody> => {
    try {
      const next = await client.download(offset, undefined, { abortSignal: options.abortSignal, maxRetryRequests: 5, conditions: etag ? { ifMatch: etag } : undefined });
      return next.readableStreamBody;
    } catch (err) {
      if (statusOf(err) === 412) {
        throw new PermanentError(`${doing} failed: the blob was replaced while it was being read. Validate the run again once its outputs are final.`, { statusCode: 412 });
      }
      rethrowStorageError(err, doing, options.abortSignal);
    }
  };

  async function* chunks(): AsyncGenerator<Buffer> {
    let body = first.readableStreamBody;
    let offset = 0;
    let resumes = 0;
    try {
      for (;;) {
        try {
          for await (const chunk of (body ?? []) as AsyncIterable<Buffer | string>) {
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            offset += bytes.length;
            yield bytes;
          }
          if (offset >= contentLength) return;
          throw new Error(`the body ended after ${offset} of ${contentLength} bytes`);
        } catch (err) {
          if (callerAborted()) throw err;
          // A failure with a status is the service's answer: classify it. Without one the connection
          // broke — the SDK even reports that as an AbortError nobody asked for — so resume.
          if (statusOf(err) !== undefined) rethrowClassified(err, doing);
          if (resumes >= MAX_RESUMES) {
            throw new TransientError(`${doing} failed: the connection broke after ${offset} of ${contentLength} bytes, ${resumes + 1} times (${(err as Error).message})`, {
              code: 'ECONNRESET',
            });
          }
        }
        resumes++;
        body?.destroy();
        body = await reopenAt(offset);
      }
    } finally {
      // A consumer that stops early must not leave the socket half-read.
      body?.destroy();
    }
  }
  return { name: blobName, contentLength, chunks: chunks() };
}

/** Size of a blob, or undefined when it does not exist. */
export async function getBlobSize(container: ContainerClient, blobName: string, options: BlobReadOptions = {}): Promise<number | undefined> {
  try {
    const properties = await container.getBlobClient(blobName).getProperties({ abortSignal: options.abortSignal });
    return properties.contentLength ?? 0;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    rethrowStorageError(err, `reading the properties of blob '${blobName}' in container '${container.containerName}'`, options.abortSignal);
  }
}

/** Names of the blobs under a prefix, in the listing's (lexicographic) order; none when the container is missing. */
export async function listBlobNames(container: ContainerClient, prefix: string, options: BlobReadOptions = {}): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const blob of container.listBlobsFlat({ prefix, abortSignal: options.abortSignal })) names.push(blob.name);
  } catch (err) {
    if (isNotFound(err)) return [];
    rethrowStorageError(err, `listing blobs under '${prefix}' in container '${container.containerName}'`, options.abortSignal);
  }
  return names;
}

/** Output prefixes are folders: '' stays the container's root, anything else ends with one '/'. */
export function folderPrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}
