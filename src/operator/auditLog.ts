// The operator audit trail: every change made through the operator API, with who, why, what was asked
// and what happened, kept in a container of its own (BATCHPILOT_AUDIT_CONTAINER), which infra puts under
// a time-based immutability policy. Nothing is ever overwritten: each state of an action (pending before
// it, then succeeded or failed) is a record of its own, created with `If-None-Match: *`. The records
// form a hash chain: record n carries the hash of record n-1, so a record changed, removed or replaced
// after the fact shows up when the chain is verified.
//
// Layout (names sort newest first, so the newest records are the first page of a listing):
//   chain/<999999999999 - seq>.json             the chain, one blob per record
//   runs/<runId>/<999999999999 - seq>.json       a copy of each record about a run (acted on or created)
//
// Concurrent writers (two operators, two instances) each read the head and create the next position;
// creation is conditional, so only one gets it and the other reads the new head and tries again. The
// chain cannot fork, and no writer can take a position that is already written.
import { createHash, randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { Actor, AuditEntry, AuditRecord, AuditState, AuditVerification, OperatorAction } from './operatorApiTypes';
import { appSettings } from '../config/runtimeConfig';
import { blobServiceFor } from '../azure/storageClients';
import { rethrowClassified, TransientError } from '../azure/errorClassification';

const SCHEMA = 'batchpilot.operatorAuditEntry/1';
const CHAIN_PREFIX = 'chain/';
const RUN_PREFIX = 'runs/';
const SEQ_DIGITS = 12;
const LAST_SEQ = 10 ** SEQ_DIGITS - 1;
const GENESIS_HASH = '0'.repeat(64);
/** Records read for one run at most (a run sees a handful of actions). */
const MAX_RUN_RECORDS = 500;
const MAX_APPEND_ATTEMPTS = 25;
const MAX_VERIFY_ENTRIES = 5000;
const VERIFY_PARALLEL_READS = 16;

function reversed(seq: number): string {
  return String(LAST_SEQ - seq).padStart(SEQ_DIGITS, '0');
}

function chainName(seq: number): string {
  return `${CHAIN_PREFIX}${reversed(seq)}.json`;
}

function runFolder(runId: string): string {
  // Run IDs never contain '/'; guard anyway so a crafted ID cannot leave its folder.
  return `${RUN_PREFIX}${runId.replace(/[/\\]/g, '_')}/`;
}

/** JSON with object keys sorted at every level and undefined members dropped: what the hash covers. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

type Unsealed = Omit<AuditEntry, 'hash'>;

function sealed(entry: Unsealed): AuditEntry {
  return { ...entry, hash: AuditLog.hashOf(entry) };
}

function selfCheck(entry: AuditEntry): string | undefined {
  const { hash, ...rest } = entry;
  return AuditLog.hashOf(rest) === hash ? undefined : `record ${entry.seq}'s content does not match its hash (changed after it was written)`;
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/** Folds an action's records (any order) into what the API shows: the latest state, with the chain positions. */
function foldActions(entries: AuditEntry[]): AuditRecord[] {
  const byId = new Map<string, AuditEntry[]>();
  for (const e of entries) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
  return [...byId.values()].map((list) => {
    list.sort((a, b) => a.seq - b.seq);
    const latest = list.at(-1)!;
    const problem = list.map(selfCheck).find(Boolean);
    return {
      id: latest.id,
      action: latest.action,
      at: latest.at,
      by: latest.by,
      reason: latest.reason,
      ...(latest.runId ? { runId: latest.runId } : {}),
      request: latest.request,
      outcome: latest.state,
      ...(latest.result ? { result: latest.result } : {}),
      ...(latest.error ? { error: latest.error } : {}),
      ...(latest.state !== 'pending' ? { completedAt: latest.recordedAt } : {}),
      ...(latest.createdRuns?.length ? { createdRuns: latest.createdRuns } : {}),
      entries: list.map((e) => ({ seq: e.seq, state: e.state, hash: e.hash, recordedAt: e.recordedAt })),
      ...(problem ? { integrityProblem: problem } : {}),
    };
  });
}

const lastSeqOf = (r: AuditRecord): number => r.entries.at(-1)?.seq ?? 0;

export interface AuditBegin {
  action: OperatorAction;
  by: Actor;
  reason: string;
  runId?: string;
  request: Record<string, unknown>;
}

type EntryFields = Omit<AuditEntry, 'schema' | 'seq' | 'prevHash' | 'hash' | 'recordedAt'>;

/** An action whose pending record is written; records its outcome once. */
export class PendingAudit {
  #settled = false;

  constructor(private readonly log: AuditLog, private readonly first: AuditEntry) {}

  get id(): string {
    return this.first.id;
  }

  /** Records success; `createdRuns` are runs the action made, under which the record is indexed too. */
  async succeeded(result: Record<string, unknown>, createdRuns: string[] = []): Promise<AuditEntry> {
    return this.#settle({ state: 'succeeded', result, ...(createdRuns.length ? { createdRuns: [...new Set(createdRuns)] } : {}) });
  }

  async failed(error: string): Promise<AuditEntry> {
    return this.#settle({ state: 'failed', error });
  }

  async #settle(outcome: { state: AuditState; result?: Record<string, unknown>; error?: string; createdRuns?: string[] }): Promise<AuditEntry> {
    if (this.#settled) throw new Error(`The outcome of audited action ${this.id} is already recorded; an outcome is written once.`);
    this.#settled = true;
    const { schema: _s, seq: _q, prevHash: _p, hash: _h, recordedAt: _r, state: _st, ...action } = this.first;
    return this.log.append({ ...action, ...outcome });
  }
}

export class AuditLog {
  #ready: Promise<unknown> | undefined;

  constructor(private readonly container: ContainerClient) {}

  /** SHA-256 (hex) of a record's canonical JSON, without its `hash` field. */
  static hashOf(entry: Record<string, unknown> | Unsealed): string {
    return createHash('sha256').update(canonicalJson(entry)).digest('hex');
  }

  /** Writes the pending record; the action must not proceed if this throws. */
  async begin(entry: AuditBegin): Promise<PendingAudit> {
    const at = new Date().toISOString();
    const id = `${at.replace(/\D/g, '').slice(0, 14)}-${randomUUID().slice(0, 8)}`;
    const first = await this.append({ id, action: entry.action, at, by: entry.by, reason: entry.reason, ...(entry.runId ? { runId: entry.runId } : {}), request: entry.request, state: 'pending' });
    return new PendingAudit(this, first);
  }

  /** Adds a record at the head of the chain (and its copies under the runs it concerns). */
  async append(fields: EntryFields): Promise<AuditEntry> {
    await this.#ensureContainer();
    for (let attempt = 1; ; attempt++) {
      const head = await this.#head();
      const entry = sealed({ schema: SCHEMA, seq: head.seq + 1, prevHash: head.hash, recordedAt: new Date().toISOString(), ...fields });
      if (await this.writeOnce(chainName(entry.seq), entry)) {
        for (const runId of new Set([entry.runId, ...(entry.createdRuns ?? [])].filter((r): r is string => !!r))) {
          await this.writeOnce(`${runFolder(runId)}${reversed(entry.seq)}.json`, entry);
        }
        return entry;
      }
      // Another writer took this position first: chain onto its record instead.
      if (attempt >= MAX_APPEND_ATTEMPTS) {
        throw new TransientError(`Writing audit record for ${fields.action} ${fields.id} in ${this.container.containerName}: ${attempt} other records were appended first each time; try again.`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }

  /** Creates the blob unless it exists (If-None-Match: *); false when it exists, which is left as it was. */
  async writeOnce(name: string, record: unknown): Promise<boolean> {
    const body = JSON.stringify(record, null, 2);
    try {
      await this.container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' }, conditions: { ifNoneMatch: '*' } });
      return true;
    } catch (err) {
      // 409: the blob exists (BlobAlreadyExists, or the immutability policy refusing a write).
      if (statusOf(err) === 409) return false;
      rethrowClassified(err, `Writing audit record ${this.container.containerName}/${name}`);
    }
  }

  async #ensureContainer(): Promise<void> {
    this.#ready ??= this.container.createIfNotExists().catch((err) => {
      this.#ready = undefined;
      throw err;
    });
    try {
      await this.#ready;
    } catch (err) {
      rethrowClassified(err, `Creating the audit container ${this.container.containerName}`);
    }
  }

  /** Names under a prefix, newest first, one listing page of at most `max`. */
  async #firstNames(prefix: string, max: number): Promise<string[]> {
    try {
      const page = await this.container.listBlobsFlat({ prefix }).byPage({ maxPageSize: max }).next();
      return page.done || !page.value ? [] : page.value.segment.blobItems.map((b) => b.name).slice(0, max);
    } catch (err) {
      if (statusOf(err) === 404) return [];
      rethrowClassified(err, `Listing audit records under ${this.container.containerName}/${prefix}`);
    }
  }

  async #read(name: string): Promise<AuditEntry | undefined> {
    let text: string;
    try {
      text = (await this.container.getBlobClient(name).downloadToBuffer()).toString('utf8');
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      rethrowClassified(err, `Reading audit record ${this.container.containerName}/${name}`);
    }
    try {
      return JSON.parse(text) as AuditEntry;
    } catch {
      throw new Error(`Audit record ${this.container.containerName}/${name} is not JSON: it was damaged or replaced after it was written. Run 'batchpilot audit verify'.`);
    }
  }

  async #readAll(names: string[]): Promise<AuditEntry[]> {
    return (await Promise.all(names.map((n) => this.#read(n)))).filter((e): e is AuditEntry => !!e);
  }

  async #head(): Promise<{ seq: number; hash: string }> {
    const [newest] = await this.#firstNames(CHAIN_PREFIX, 1);
    if (!newest) return { seq: 0, hash: GENESIS_HASH };
    const entry = await this.#read(newest);
    const seq = LAST_SEQ - Number(newest.slice(CHAIN_PREFIX.length, CHAIN_PREFIX.length + SEQ_DIGITS));
    if (!entry || entry.seq !== seq || typeof entry.hash !== 'string') {
      throw new Error(`The newest audit record ${this.container.containerName}/${newest} is not record ${seq} of the chain; nothing more can be chained onto it. Run 'batchpilot audit verify' and repair the trail before acting.`);
    }
    return { seq, hash: entry.hash };
  }

  /** A run's actions (acted on or created by them), oldest first. */
  async listForRun(runId: string): Promise<AuditRecord[]> {
    const entries = await this.#readAll(await this.#firstNames(runFolder(runId), MAX_RUN_RECORDS));
    return foldActions(entries).sort((a, b) => (a.entries[0]?.seq ?? 0) - (b.entries[0]?.seq ?? 0));
  }

  /** The `top` most recently recorded actions, each once with its latest state, newest first. */
  async listRecent(top: number): Promise<AuditRecord[]> {
    // An action has at most two records, so the newest 2 × top records hold at least `top` actions.
    const entries = await this.#readAll(await this.#firstNames(CHAIN_PREFIX, Math.max(1, 2 * top)));
    return foldActions(entries)
      .sort((a, b) => lastSeqOf(b) - lastSeqOf(a))
      .slice(0, top);
  }

  /**
   * Checks records fromSeq.. (at most maxEntries of them, up to the head): each is where its name says,
   * matches its hash, and carries the hash of the record before it; the copies under runs match too.
   */
  async verify(options: { fromSeq?: number; maxEntries?: number } = {}): Promise<AuditVerification> {
    const fromSeq = Math.max(1, Math.floor(options.fromSeq ?? 1));
    const maxEntries = Math.min(MAX_VERIFY_ENTRIES, Math.max(1, Math.floor(options.maxEntries ?? MAX_VERIFY_ENTRIES)));
    const head = await this.#head();
    const toSeq = Math.min(head.seq, fromSeq + maxEntries - 1);
    const problems: AuditVerification['problems'] = [];
    const note = (seq: number, problem: string): void => {
      problems.push({ seq, blob: chainName(seq), problem });
    };
    // The record before the range anchors its first link.
    let previous: AuditEntry | undefined | 'genesis' = fromSeq === 1 ? 'genesis' : await this.#read(chainName(fromSeq - 1));
    let checked = 0;
    for (let start = fromSeq; start <= toSeq; start += VERIFY_PARALLEL_READS) {
      const seqs = Array.from({ length: Math.min(VERIFY_PARALLEL_READS, toSeq - start + 1) }, (_, i) => start + i);
      const batch = await Promise.all(seqs.map(async (seq) => ({ seq, entry: await this.#read(chainName(seq)).catch((err: Error) => err) })));
      for (const { seq, entry } of batch) {
        checked++;
        if (entry instanceof Error) {
          note(seq, entry.message);
          previous = undefined;
          continue;
        }
        if (!entry) {
          note(seq, `record ${seq} is missing (deleted after it was written)`);
          previous = undefined;
          continue;
        }
        const own = entry.seq !== seq ? `the blob for record ${seq} holds record ${String(entry.seq)} (moved or replaced)` : selfCheck(entry);
        if (own) note(seq, own);
        const expected = previous === 'genesis' ? GENESIS_HASH : previous?.hash;
        if (previous === undefined) {
          if (seq > 1) note(seq, `the previous record (${seq - 1}) could not be read, so this record's link to it is unchecked`);
        } else if (entry.prevHash !== expected) {
          note(seq, `its link does not match the previous record (${seq - 1}): that record was changed, or this one was replaced`);
        }
        if (!own) problems.push(...(await this.#checkCopies(entry)));
        previous = entry;
      }
    }
    return {
      ok: problems.length === 0,
      fromSeq,
      toSeq,
      headSeq: head.seq,
      headHash: head.hash,
      checked,
      problems,
      ...(toSeq < head.seq ? { nextFromSeq: toSeq + 1 } : {}),
    };
  }

  async #checkCopies(entry: AuditEntry): Promise<AuditVerification['problems']> {
    const runs = [...new Set([entry.runId, ...(entry.createdRuns ?? [])].filter((r): r is string => !!r))];
    const problems: AuditVerification['problems'] = [];
    for (const runId of runs) {
      const name = `${runFolder(runId)}${reversed(entry.seq)}.json`;
      const copy = await this.#read(name).catch((err: Error) => err);
      if (copy instanceof Error || !copy) problems.push({ seq: entry.seq, blob: name, problem: `the copy under run ${runId} is ${copy ? 'unreadable' : 'missing'}` });
      else if (copy.hash !== entry.hash || selfCheck(copy)) problems.push({ seq: entry.seq, blob: name, problem: `the copy under run ${runId} differs from record ${entry.seq}` });
    }
    return problems;
  }
}

let shared: AuditLog | undefined;

/** The app's audit log, in the audit container of the data account. */
export function auditLog(): AuditLog {
  if (!shared) {
    const settings = appSettings();
    shared = new AuditLog(blobServiceFor(settings.dataStorage).getContainerClient(settings.auditContainer));
  }
  return shared;
}
