// What the emulator's request handlers share: the workspace's scope and state, its storage, the job
// runner, fault injection and event publishing, plus the plain request/reply shapes they exchange.
import type { IncomingHttpHeaders } from 'node:http';
import type { AssetLookup } from './assetReferences';
import type { WorkspaceScope } from './armResources';
import type { BatchJobRunner } from './batchJobRunner';
import type { FaultInjector } from './faultInjection';
import type { WorkspaceStore } from './workspaceStore';
import type { WorkspaceStorage } from './workspaceStorage';
import type { EventGridEventLike, JsonValue } from './wireTypes';
import { invalidRequestContent } from './armErrors';

export interface EmulatorServices {
  scope: WorkspaceScope;
  store: WorkspaceStore;
  storage: WorkspaceStorage;
  lookup: AssetLookup;
  runner: BatchJobRunner;
  faults: FaultInjector;
  publish(events: EventGridEventLike[]): void;
  /** How long ARM create/update/delete operations stay InProgress. */
  armOperationDelayInMs: number;
  /** Retry-After on long-running operation responses; 0 leaves the header out. */
  lroRetryAfterInSeconds: number;
  /** Schedules work that `stop()` cancels (operation completions). */
  schedule(delayInMs: number, work: () => void): void;
}

export interface HttpExchange {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The token's subject, recorded as createdBy/lastModifiedBy. */
  caller: string;
}

export interface HttpReply {
  status: number;
  body?: JsonValue;
  /** A non-JSON body (e.g. the Studio page); `contentType` says what it is. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export function headerOf(exchange: HttpExchange, name: string): string | undefined {
  const value = exchange.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Parses a JSON request body; ARM answers malformed JSON with 400 InvalidRequestContent. */
export function jsonBodyOf(exchange: HttpExchange): unknown {
  const text = exchange.body.toString('utf8').trim();
  if (!text) throw invalidRequestContent('the request body is empty; send a JSON object.');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw invalidRequestContent(`${(e as Error).message}.`);
  }
}
