// The Durable client as the app uses it: durable-functions' DurableClient with every instance ID, event
// name, orchestrator name, entity ID and reason percent-encoded before the library puts it into a
// management URL. The library builds those URLs by string concatenation and template replacement
// without encoding, so an ID such as `x/terminate?reason=y#` would turn "raise an event" into
// "terminate". Every client the app uses comes from durableClientFor (lint refuses df.getClient
// elsewhere), so an ID is data wherever it comes from: an event, a tag, an operator's URL.
import * as df from 'durable-functions';
import { HttpResponse } from '@azure/functions';
import type { HttpRequest, InvocationContext } from '@azure/functions';
import type { DurableClient, EntityId, HttpManagementPayload, StartNewOptions } from 'durable-functions';

/** A value that cannot be one segment of a management URL, whatever the encoding. */
export class UnsafeDurableIdError extends Error {}

/**
 * One path segment. `.` and `..` stay dot segments even when percent-encoded (URL parsers resolve
 * `%2e` too), so they are refused rather than encoded.
 */
export function durablePathSegment(value: string, what: string): string {
  if (typeof value !== 'string' || value === '' || value === '.' || value === '..') {
    throw new UnsafeDurableIdError(`${what} ${JSON.stringify(value)} cannot be used with the Durable client: it must be a non-empty string other than '.' or '..'.`);
  }
  return encodeURIComponent(value);
}

const encodedClients = new WeakSet<object>();

/** The Durable client of this invocation (its `durableClient` input binding), with IDs encoded. */
export function durableClientFor(context: InvocationContext): DurableClient {
  return withEncodedIds(df.getClient(context));
}

/** Wraps a DurableClient so that callers pass IDs as they are and the library receives them encoded. */
export function withEncodedIds(client: DurableClient): DurableClient {
  if (encodedClients.has(client)) return client;
  const id = (instanceId: string): string => durablePathSegment(instanceId, 'Instance ID');
  const text = (reason: string | undefined): string => encodeURIComponent(reason ?? '');
  const entity = (entityId: EntityId): EntityId => new df.EntityId(durablePathSegment(entityId.name, 'Entity name'), durablePathSegment(entityId.key, 'Entity key'));
  const links = (instanceId: string): HttpManagementPayload => ({ ...client.createHttpManagementPayload(id(instanceId)), id: instanceId });
  // Async throughout, so an ID that cannot be encoded rejects the promise like any other failure.
  const overrides: Partial<DurableClient> = {
    getStatus: async (instanceId, options) => client.getStatus(id(instanceId), options),
    purgeInstanceHistory: async (instanceId) => client.purgeInstanceHistory(id(instanceId)),
    raiseEvent: async (instanceId, eventName, eventData, options) => client.raiseEvent(id(instanceId), durablePathSegment(eventName, 'Event name'), eventData, options),
    terminate: async (instanceId, reason) => client.terminate(id(instanceId), text(reason)),
    suspend: async (instanceId, reason) => client.suspend(id(instanceId), text(reason)),
    resume: async (instanceId, reason) => client.resume(id(instanceId), text(reason)),
    rewind: async (instanceId, reason, options) => client.rewind(id(instanceId), text(reason), options),
    startNew: async (name: string, options?: StartNewOptions) =>
      client.startNew(durablePathSegment(name, 'Orchestrator name'), options?.instanceId !== undefined ? { ...options, instanceId: id(options.instanceId) } : options),
    readEntityState: async (entityId, options) => client.readEntityState(entity(entityId), options),
    signalEntity: async (entityId, operationName, operationContent, options) =>
      client.signalEntity(entity(entityId), operationName === undefined ? undefined : encodeURIComponent(operationName), operationContent, options),
    createHttpManagementPayload: links,
    createCheckStatusResponse: (request: HttpRequest | undefined, instanceId: string) => {
      // As the library answers: links on the origin the request came to, Location, Retry-After.
      const payload = onOriginOf(request, links(instanceId));
      return new HttpResponse({ status: 202, jsonBody: payload, headers: { 'Content-Type': 'application/json', Location: payload.statusQueryGetUri, 'Retry-After': '10' } });
    },
  };
  // Methods not overridden (status queries, purge by filter, wait-for-completion) run with `this` set
  // to the wrapper, so the instance-ID calls they make go through the overrides above.
  const wrapper = Object.assign(Object.create(client) as DurableClient, overrides);
  encodedClients.add(wrapper);
  return wrapper;
}

function onOriginOf(request: HttpRequest | undefined, payload: HttpManagementPayload): HttpManagementPayload {
  if (!request?.url) return payload;
  const origin = new URL(request.url).origin;
  const moved: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload) as Array<[string, string]>) {
    moved[key] = key !== 'id' && /^https?:\/\//.test(value) ? `${origin}${value.slice(new URL(value).origin.length)}` : value;
  }
  return moved as unknown as HttpManagementPayload;
}
