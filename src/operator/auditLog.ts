// The operator audit trail: every change made through the operator API, with who, why, what was asked
// and what happened, kept as JSON blobs in the runs container beside the run records (so one retention
// or immutability policy covers both). Layout: `_audit/<runId>/<time>~<action>~<id>.json` for actions on
// a run, `_audit/_app/...` for actions on no single run (purge, a start that found nothing), with a copy
// under each run a start created. The record is written before the action ("pending") and rewritten
// with its outcome after, so no change can happen without a record.
import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { Actor, AuditRecord, OperatorAction } from './operatorApiTypes';
import { appSettings } from '../activities/runtimeConfig';
import { blobServiceFor } from '../azure/storageClients';
import { rethrowClassified } from '../azure/errorClassification';

export const AUDIT_PREFIX = '_audit/';
const APP_SUBJECT = '_app';
const MAX_RECORDS = 500;

function subjectFolder(runId: string | undefined): string {
  // Run IDs never contain '/'; guard anyway so a crafted ID cannot leave the audit folder.
  return `${AUDIT_PREFIX}${(runId ?? APP_SUBJECT).replace(/[/\\]/g, '_')}/`;
}

function blobNameFor(record: Pick<AuditRecord, 'at' | 'action' | 'id'>, runId: string | undefined): string {
  return `${subjectFolder(runId)}${record.at.replace(/:/g, '-')}~${record.action}~${record.id}.json`;
}

export interface AuditEntry {
  action: OperatorAction;
  by: Actor;
  reason: string;
  runId?: string;
  request: Record<string, unknown>;
}

export class PendingAudit {
  constructor(private readonly log: AuditLog, readonly record: AuditRecord) {}

  get id(): string {
    return this.record.id;
  }

  /** Records success; `alsoFor` are runs the action created, which get a copy under their folder. */
  async succeeded(result: Record<string, unknown>, alsoFor: string[] = []): Promise<AuditRecord> {
    const done: AuditRecord = { ...this.record, outcome: 'succeeded', result, completedAt: new Date().toISOString() };
    await this.log.write(done, this.record.runId);
    for (const runId of alsoFor.filter((r) => r !== this.record.runId)) await this.log.write(done, runId);
    return done;
  }

  async failed(error: string): Promise<void> {
    await this.log.write({ ...this.record, outcome: 'failed', error, completedAt: new Date().toISOString() }, this.record.runId);
  }
}

export class AuditLog {
  #ready: Promise<unknown> | undefined;

  constructor(private readonly container: ContainerClient) {}

  /** Writes the pending record; the action must not proceed if this throws. */
  async begin(entry: AuditEntry): Promise<PendingAudit> {
    const at = new Date().toISOString();
    const record: AuditRecord = { schema: 'batchpilot.operatorAction/1', id: `${at.replace(/\D/g, '').slice(0, 14)}-${randomUUID().slice(0, 8)}`, action: entry.action, at, by: entry.by, reason: entry.reason, runId: entry.runId, request: entry.request, outcome: 'pending' };
    await this.write(record, entry.runId);
    return new PendingAudit(this, record);
  }

  async write(record: AuditRecord, runId: string | undefined): Promise<void> {
    const body = JSON.stringify(record, null, 2);
    const name = blobNameFor(record, runId);
    try {
      this.#ready ??= this.container.createIfNotExists().catch((err) => {
        this.#ready = undefined;
        throw err;
      });
      await this.#ready;
      await this.container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } });
    } catch (err) {
      rethrowClassified(err, `Writing audit record ${this.container.containerName}/${name}`);
    }
  }

  async #read(names: string[]): Promise<AuditRecord[]> {
    const records = await Promise.all(
      names.map(async (n) => {
        try {
          return JSON.parse((await this.container.getBlobClient(n).downloadToBuffer()).toString('utf8')) as AuditRecord;
        } catch {
          return undefined;
        }
      }),
    );
    return records.filter((r): r is AuditRecord => !!r);
  }

  async #names(prefix: string): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const b of this.container.listBlobsFlat({ prefix })) names.push(b.name);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return [];
      rethrowClassified(err, `Listing audit records under ${this.container.containerName}/${prefix}`);
    }
    return names;
  }

  /** A run's audit records, oldest first. */
  async listForRun(runId: string): Promise<AuditRecord[]> {
    const names = (await this.#names(subjectFolder(runId))).sort();
    return this.#read(names.slice(-MAX_RECORDS));
  }

  /** The newest records across the app (each action once), newest first. */
  async listRecent(top: number): Promise<AuditRecord[]> {
    const byId = new Map<string, string>();
    const stamp = (n: string): string => n.slice(n.lastIndexOf('/') + 1);
    for (const n of await this.#names(AUDIT_PREFIX)) {
      const id = stamp(n).split('~')[2];
      const known = byId.get(id);
      // The copy under the run acted on (or _app) is the primary; either holds the same record.
      if (!known || n.startsWith(`${AUDIT_PREFIX}${APP_SUBJECT}/`)) byId.set(id, n);
    }
    const newest = [...byId.values()].sort((a, b) => stamp(b).localeCompare(stamp(a))).slice(0, Math.min(top, MAX_RECORDS));
    return this.#read(newest);
  }
}

let shared: AuditLog | undefined;

/** The app's audit log, in the runs container of the data account. */
export function auditLog(): AuditLog {
  if (!shared) {
    const settings = appSettings();
    shared = new AuditLog(blobServiceFor(settings.dataStorage).getContainerClient(settings.runsContainer));
  }
  return shared;
}
