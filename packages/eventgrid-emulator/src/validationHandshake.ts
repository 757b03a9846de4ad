// The endpoint validation Event Grid performs when a webhook subscription is created, so that a
// subscriber's handshake code is exercised locally exactly as in Azure:
// - Event Grid schema: POST [Microsoft.EventGrid.SubscriptionValidationEvent] with `aeg-event-type:
//   SubscriptionValidation`; the subscriber answers 200 `{ "validationResponse": <validationCode> }`
//   (synchronous), or 200 without it and later GETs `validationUrl` (asynchronous, manual).
// - CloudEvents 1.0: the CloudEvents webhook abuse-protection handshake, OPTIONS with
//   `WebHook-Request-Origin: eventgrid.azure.net`, answered with `WebHook-Allowed-Origin`.
// Azure Function destinations are not validated (Azure trusts its own resources).

import { randomUUID } from 'node:crypto';
import type { EventGridEvent, EventSchemaName } from './eventShapes';
import { azureTimestamp, isPlainObject } from './eventShapes';
import { sendWebhookRequest } from './webhookRequests';

export const VALIDATION_EVENT_TYPE = 'Microsoft.EventGrid.SubscriptionValidationEvent';
export const WEBHOOK_REQUEST_ORIGIN = 'eventgrid.azure.net';

export interface HandshakeRequest {
  subscriptionName: string;
  endpointUrl: string;
  deliverySchema: EventSchemaName;
  topicResourceId: string;
  /** Where the subscriber may GET to validate asynchronously; the code is appended. */
  validationUrlBase: string;
  /** The code to send (Event Grid schema); one is made when omitted. */
  validationCode?: string;
  timeoutInMs: number;
  ca?: string;
}

export type HandshakeOutcome =
  | { result: 'validated' }
  /** The subscriber acknowledged but must GET the validation URL (Azure: "AwaitingManualAction"). */
  | { result: 'awaitingManualAction'; validationCode: string; validationUrl: string }
  | { result: 'failed'; message: string };

function redacted(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

function failure(method: string, url: string, code: number | string): HandshakeOutcome {
  return {
    result: 'failed',
    message: `Webhook validation handshake failed for ${redacted(url)}. Http ${method} request failed with response code ${code}. For troubleshooting, visit https://aka.ms/esvalidation.`,
  };
}

export function subscriptionValidationEvent(request: HandshakeRequest, validationCode: string, now: Date = new Date()): EventGridEvent {
  const validationUrl = `${request.validationUrlBase}?id=${encodeURIComponent(validationCode)}&t=${encodeURIComponent(now.toISOString())}&apiVersion=2018-01-01`;
  return {
    id: randomUUID(),
    topic: request.topicResourceId,
    subject: '',
    data: { validationCode, validationUrl },
    eventType: VALIDATION_EVENT_TYPE,
    eventTime: azureTimestamp(now),
    metadataVersion: '1',
    dataVersion: '2',
  };
}

export async function performHandshake(request: HandshakeRequest): Promise<HandshakeOutcome> {
  if (request.deliverySchema === 'CloudEventSchemaV1_0') {
    const outcome = await sendWebhookRequest({
      method: 'OPTIONS',
      url: request.endpointUrl,
      headers: { 'webhook-request-origin': WEBHOOK_REQUEST_ORIGIN, 'webhook-request-rate': '120' },
      timeoutInMs: request.timeoutInMs,
      ca: request.ca,
    });
    if (outcome.kind !== 'response') return failure('OPTIONS', request.endpointUrl, 'Unknown');
    const allowed = outcome.headers['webhook-allowed-origin'];
    const origins = (Array.isArray(allowed) ? allowed.join(',') : allowed ?? '').split(',').map((s) => s.trim().toLowerCase());
    if (outcome.status === 200 && (origins.includes(WEBHOOK_REQUEST_ORIGIN) || origins.includes('*'))) return { result: 'validated' };
    return failure('OPTIONS', request.endpointUrl, outcome.status === 200 ? 'OK without a WebHook-Allowed-Origin header' : outcome.status);
  }

  const validationCode = request.validationCode ?? randomUUID().toUpperCase();
  const event = subscriptionValidationEvent(request, validationCode);
  const outcome = await sendWebhookRequest({
    method: 'POST',
    url: request.endpointUrl,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'aeg-event-type': 'SubscriptionValidation',
      'aeg-subscription-name': request.subscriptionName.toUpperCase(),
      'aeg-delivery-count': '0',
      'aeg-metadata-version': '1',
      'aeg-data-version': '2',
    },
    body: Buffer.from(JSON.stringify([event])),
    timeoutInMs: request.timeoutInMs,
    ca: request.ca,
  });
  if (outcome.kind !== 'response') return failure('POST', request.endpointUrl, 'Unknown');
  if (outcome.status !== 200) return failure('POST', request.endpointUrl, outcome.status);
  let answered: unknown;
  try {
    answered = outcome.body.length ? JSON.parse(outcome.body.toString('utf8')) : undefined;
  } catch {
    answered = undefined;
  }
  const response = isPlainObject(answered)
    ? Object.entries(answered).find(([k]) => k.toLowerCase() === 'validationresponse')?.[1]
    : undefined;
  if (typeof response === 'string') {
    return response.toLowerCase() === validationCode.toLowerCase()
      ? { result: 'validated' }
      : { result: 'failed', message: `Webhook validation handshake failed for ${redacted(request.endpointUrl)}: the validationResponse does not match the validationCode sent.` };
  }
  const data = event.data as { validationUrl: string };
  return { result: 'awaitingManualAction', validationCode, validationUrl: data.validationUrl };
}
