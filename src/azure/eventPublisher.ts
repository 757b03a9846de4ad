// Publishing batchpilot's own CloudEvents to its custom topic with the app's identity.
import type { EventGridPublisherClient } from '@azure/eventgrid';
import { appCredential } from './credentials';
import { rethrowClassified } from './errorClassification';

export interface OutgoingCloudEvent {
  id: string;
  type: string;
  source: string;
  subject?: string;
  time?: Date;
  data: Record<string, unknown>;
}

const clients = new Map<string, EventGridPublisherClient<'CloudEvent'>>();

function publisherFor(endpoint: string): EventGridPublisherClient<'CloudEvent'> {
  let client = clients.get(endpoint);
  if (!client) {
    const { EventGridPublisherClient: Client } = require('@azure/eventgrid') as typeof import('@azure/eventgrid');
    client = new Client(endpoint, 'CloudEvent', appCredential());
    clients.set(endpoint, client);
  }
  return client;
}

/** Sends events; the event `id` is stable per run and outcome, so a retried send is de-duplicable. */
export async function publishCloudEvents(endpoint: string, events: OutgoingCloudEvent[]): Promise<void> {
  try {
    await publisherFor(endpoint).send(events.map((e) => ({ ...e, time: e.time ?? new Date(), datacontenttype: 'application/json' })));
  } catch (err) {
    rethrowClassified(err, `Publishing ${events.map((e) => e.type).join(', ')} to ${endpoint}`);
  }
}
