// Queue settings and message encoding as the Storage Queues extension applies them: host.json
// `extensions.queues` (batchSize 16, newBatchThreshold batchSize/2, maxDequeueCount 5,
// visibilityTimeout 0, maxPollingInterval 1 minute, messageEncoding base64) and
// `extensions.blobs.poisonBlobThreshold` (5) for the blob trigger's own queue.
import type { HostJson } from './appLoader';

export type QueueMessageEncoding = 'base64' | 'none';

export interface QueueOptions {
  batchSize: number;
  newBatchThreshold: number;
  maxDequeueCount: number;
  visibilityTimeoutInMs: number;
  maxPollingIntervalInMs: number;
  messageEncoding: QueueMessageEncoding;
}

export class HostJsonError extends Error {}

/** A host.json duration: a TimeSpan (`[d.]hh:mm:ss[.fff]`) or a number of milliseconds. */
export function durationInMs(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(value.trim());
    if (m) {
      const [, days, h, min, s, fraction] = m;
      return (((Number(days ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60 + Number(s)) * 1000 + Math.round(Number(`0.${fraction ?? '0'}`) * 1000);
    }
  }
  throw new HostJsonError(`host.json ${what} must be a TimeSpan like "00:00:30" (or milliseconds); got ${JSON.stringify(value)}.`);
}

function whole(value: unknown, what: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new HostJsonError(`host.json ${what} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}.`);
  return n;
}

export function queueOptions(hostJson: HostJson): QueueOptions {
  const q = (hostJson.extensions?.queues ?? {}) as Record<string, unknown>;
  const batchSize = whole(q.batchSize, 'extensions.queues.batchSize', 1, 32) ?? 16;
  const encoding = String(q.messageEncoding ?? 'base64').toLowerCase();
  if (encoding !== 'base64' && encoding !== 'none') throw new HostJsonError(`host.json extensions.queues.messageEncoding must be "base64" or "none"; got ${JSON.stringify(q.messageEncoding)}.`);
  return {
    batchSize,
    newBatchThreshold: whole(q.newBatchThreshold, 'extensions.queues.newBatchThreshold', 0, 10_000) ?? Math.floor(batchSize / 2),
    maxDequeueCount: whole(q.maxDequeueCount, 'extensions.queues.maxDequeueCount', 1, 10_000) ?? 5,
    visibilityTimeoutInMs: durationInMs(q.visibilityTimeout, 'extensions.queues.visibilityTimeout') ?? 0,
    maxPollingIntervalInMs: Math.max(100, durationInMs(q.maxPollingInterval, 'extensions.queues.maxPollingInterval') ?? 60_000),
    messageEncoding: encoding,
  };
}

export function poisonBlobThreshold(hostJson: HostJson): number {
  const b = (hostJson.extensions?.blobs ?? {}) as Record<string, unknown>;
  return whole(b.poisonBlobThreshold, 'extensions.blobs.poisonBlobThreshold', 1, 10_000) ?? 5;
}

export function encodeQueueMessage(message: string | Buffer, encoding: QueueMessageEncoding): string {
  const bytes = Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8');
  return encoding === 'base64' ? bytes.toString('base64') : bytes.toString('utf8');
}

export class QueueMessageDecodingError extends Error {}

/** The message text a function receives; base64 that is not base64 cannot be decoded. */
export function decodeQueueMessage(text: string, encoding: QueueMessageEncoding): string {
  if (encoding === 'none') return text;
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw new QueueMessageDecodingError('The message is not base64, which host.json extensions.queues.messageEncoding ("base64", the default) expects. Send it base64-encoded, or set messageEncoding to "none".');
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}
