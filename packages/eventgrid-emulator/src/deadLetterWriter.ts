// Writes dead-lettered events to a blob container in Azurite, as Event Grid does to the subscription's
// dead-letter storage account: blob names `{SUBSCRIPTION-NAME}/{yyyy}/{M}/{d}/{H}/{guid}.json` (the
// subscription name upper-cased, date parts UTC and not zero-padded), each blob a JSON array. Event Grid
// schema events gain deadLetterReason, deliveryAttempts, lastDeliveryOutcome, lastHttpStatusCode,
// publishTime and lastDeliveryAttemptTime; CloudEvents are wrapped as { event, deadletterproperties }.
// Writes go straight to Azurite, not through the blob proxy, so dead letters raise no storage events.
// As in Azure, a missing container means the dead letter is dropped (and logged), not created.

import { randomUUID } from 'node:crypto';
import { BlobServiceClient, RestError } from '@azure/storage-blob';
import type { CloudEvent, EventGridEvent, EventSchemaName } from './eventShapes';

export interface DeadLetterDetails {
  deadLetterReason: string;
  deliveryAttempts: number;
  lastDeliveryOutcome: string;
  lastHttpStatusCode: number;
  publishTime: string;
  lastDeliveryAttemptTime: string;
}

export type DeadLetterEntry = { event: EventGridEvent | CloudEvent; details: DeadLetterDetails };

export type DeadLetterWrite = { written: true; container: string; blobName: string } | { written: false; reason: string };

export function deadLetterBlobName(subscriptionName: string, at: Date): string {
  return [
    subscriptionName.toUpperCase(),
    at.getUTCFullYear(),
    at.getUTCMonth() + 1,
    at.getUTCDate(),
    at.getUTCHours(),
    `${randomUUID()}.json`,
  ].join('/');
}

export function deadLetterDocument(schema: EventSchemaName, entries: DeadLetterEntry[]): unknown[] {
  if (schema === 'EventGridSchema') {
    return entries.map(({ event, details }) => ({ ...event, ...details }));
  }
  return entries.map(({ event, details }) => ({
    event,
    deadletterproperties: {
      deadletterreason: details.deadLetterReason,
      deliveryattempts: details.deliveryAttempts,
      lastdeliveryoutcome: details.lastDeliveryOutcome,
      lasthttpstatuscode: details.lastHttpStatusCode,
      publishtime: details.publishTime,
      lastdeliveryattempttime: details.lastDeliveryAttemptTime,
    },
  }));
}

export class DeadLetterWriter {
  readonly #service: BlobServiceClient;

  constructor(azuriteConnectionString: string) {
    this.#service = BlobServiceClient.fromConnectionString(azuriteConnectionString);
  }

  async write(containerName: string, subscriptionName: string, schema: EventSchemaName, entries: DeadLetterEntry[], at: Date = new Date()): Promise<DeadLetterWrite> {
    const blobName = deadLetterBlobName(subscriptionName, at);
    const body = JSON.stringify(deadLetterDocument(schema, entries));
    try {
      await this.#service.getContainerClient(containerName).getBlockBlobClient(blobName).upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
      return { written: true, container: containerName, blobName };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) {
        return { written: false, reason: `The dead-letter container '${containerName}' does not exist; Event Grid drops the events.` };
      }
      return { written: false, reason: `Writing the dead letter to '${containerName}/${blobName}' failed: ${(error as Error).message}` };
    }
  }
}
