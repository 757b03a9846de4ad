// Durable instance IDs derived from the logical input, never random: the same blob version (route +
// URL + eTag) always maps to the same run, the same partition to the same coalescer, so duplicate and
// out-of-order deliveries find the run that already exists.
import { createHash } from 'node:crypto';
import { RUN_ID_PREFIX } from './runIds';

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24);
}

/** One run per blob version on a perFile route. */
export function blobRunId(route: string, url: string, eTag: string): string {
  return `${RUN_ID_PREFIX.blob}${route}-${digest(url, eTag.replace(/^"|"$/g, ''))}`;
}

/** The coalescer that gathers a window/marker route's partition. */
export function partitionCoalescerId(route: string, partition: string): string {
  return `${RUN_ID_PREFIX.coalescer}${route}-${digest(partition)}`;
}

/** The run for the n-th closed batch of a partition. */
export function batchRunId(route: string, partition: string, batchNumber: number): string {
  return `${RUN_ID_PREFIX.blob}${route}-${digest(partition)}-b${batchNumber}`;
}

/** Key of one blob version inside a partition's ledger. */
export function arrivalKey(url: string, eTag: string): string {
  return digest(url, eTag.replace(/^"|"$/g, ''));
}
