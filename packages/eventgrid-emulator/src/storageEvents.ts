// Builds the Microsoft.Storage system events (BlobCreated, BlobDeleted) with the data fields Azure
// Storage sends, in the Event Grid schema (delivery converts to CloudEvents where asked). Shapes follow
// test/contracts/eventgrid/Microsoft.Storage/stable/2018-01-01 (Storage.json and its examples):
// subject `/blobServices/default/containers/{container}/blobs/{name}`, topic = the storage account's
// resource ID, dataVersion "" and metadataVersion "1", eTag without quotes, a 48-hex-digit sequencer.

import { randomUUID } from 'node:crypto';
import { EventGridEvent, azureTimestamp } from './eventShapes';

export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';
export const BLOB_DELETED = 'Microsoft.Storage.BlobDeleted';

/** What the proxy learned about one committed (or deleted) blob. */
export interface BlobChange {
  /** The Storage REST operation: PutBlob, PutBlockList, CopyBlob, PutBlobFromUrl, DeleteBlob. */
  api: string;
  container: string;
  /** The blob name, decoded (`folder/my file.csv`). */
  blobName: string;
  /** The blob's URL as clients reach it (through the proxy), encoded. */
  url: string;
  clientRequestId?: string;
  /** The storage service's request ID (`x-ms-request-id`). */
  requestId: string;
  eTag?: string;
  contentType?: string;
  contentLength?: number;
  blobType?: string;
}

/**
 * Azure's sequencer is an opaque, per-blob increasing string compared as text; a zero-padded global
 * counter keeps that promise. It starts from the clock so it keeps increasing across emulator restarts
 * over a persistent Azurite.
 */
export class BlobSequencer {
  #counter: bigint;

  constructor(start: bigint = BigInt(Date.now()) * 1000n) {
    this.#counter = start;
  }

  next(): string {
    this.#counter += 1n;
    return '0'.repeat(32) + this.#counter.toString(16).padStart(16, '0');
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Azure derives the event ID from the request ID (same prefix, last six digits differ); mimic it when possible. */
function eventIdFor(requestId: string): string {
  if (!GUID.test(requestId)) return randomUUID();
  const suffix = randomUUID().replace(/-/g, '').slice(0, 6);
  return requestId.slice(0, 30) + suffix;
}

/** Azure Storage strips the quotes from the ETag header in event data (`0x8D96060BDA19D9D`). */
export function unquotedETag(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, '$1');
}

export function blobSubject(container: string, blobName: string): string {
  return `/blobServices/default/containers/${container}/blobs/${blobName}`;
}

function changeData(change: BlobChange, sequencer: string): Record<string, unknown> {
  return {
    api: change.api,
    ...(change.clientRequestId ? { clientRequestId: change.clientRequestId } : {}),
    requestId: change.requestId,
    ...(change.eTag ? { eTag: unquotedETag(change.eTag) } : {}),
    ...(change.contentType !== undefined ? { contentType: change.contentType } : {}),
    ...(change.contentLength !== undefined ? { contentLength: change.contentLength } : {}),
    ...(change.blobType ? { blobType: change.blobType } : {}),
    url: change.url,
    sequencer,
    storageDiagnostics: { batchId: randomUUID() },
  };
}

export function blobCreatedEvent(change: BlobChange, accountResourceId: string, sequencer: string, now: Date = new Date()): EventGridEvent {
  return {
    topic: accountResourceId,
    subject: blobSubject(change.container, change.blobName),
    eventType: BLOB_CREATED,
    id: eventIdFor(change.requestId),
    data: changeData(change, sequencer),
    dataVersion: '',
    metadataVersion: '1',
    eventTime: azureTimestamp(now),
  };
}

export function blobDeletedEvent(change: BlobChange, accountResourceId: string, sequencer: string, now: Date = new Date()): EventGridEvent {
  return {
    topic: accountResourceId,
    subject: blobSubject(change.container, change.blobName),
    eventType: BLOB_DELETED,
    id: eventIdFor(change.requestId),
    data: changeData(change, sequencer),
    dataVersion: '',
    metadataVersion: '1',
    eventTime: azureTimestamp(now),
  };
}
