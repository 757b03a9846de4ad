// The durable engine's commit journal: the steps of many instances committed together, in one Table
// storage transaction per group (group commit), so that a burst of episodes costs a few requests
// instead of one or two each. A step is committed once its record is in the journal; the instance rows
// that reads and queries use are brought up to date afterwards (see durableStore.ts), and an entry is
// deleted once every record in it is applied and its messages delivered. After a crash, start-up
// applies whatever the journal still holds.
//
// One entry = one transaction in partition 'j' of the <hub>Journal table: rows `<seq>|<part>`, whose
// `Records` text (split over properties and rows) is a JSON array of records. A transaction is atomic,
// so an entry is there whole or not at all.
import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { TableTransactions } from './tableTransactions';
import { MAX_TRANSACTION_BYTES, MAX_TRANSACTION_OPS, PayloadTooLargeError, isTooLargeForStorage, packText, unpackText } from './tablePayloads';

const PARTITION = 'j';
const SEQ_DIGITS = 12;
/** JSON characters per journal row: 15 properties of 30,000 characters stay under the 1 MiB entity limit. */
const ROW_CHARS = 420000;
/**
 * Record bytes per entry. Records are JSON stored as a string property, so the request carries them
 * escaped (every quote gains a backslash): this leaves room for that under MAX_TRANSACTION_BYTES.
 */
const ENTRY_BYTES = Math.floor(MAX_TRANSACTION_BYTES / 1.4);

const ENTRIES_IN_FLIGHT = 2;

/** The largest record the journal takes; the store keeps records under it (big data goes in rows ahead). */
export const MAX_RECORD_BYTES = ENTRY_BYTES;

interface Waiting {
  json: string;
  bytes: number;
  resolve: (seq: number) => void;
  reject: (err: Error) => void;
}

export interface JournalEntry {
  seq: number;
  /** Each record's JSON text, parsed. */
  records: unknown[];
}

function rowKey(seq: number, part: number): string {
  return `${String(seq).padStart(SEQ_DIGITS, '0')}|${part}`;
}

export class CommitJournal {
  #nextSeq = 1;
  /** Rows of each entry written or read, to delete them. */
  readonly #parts = new Map<number, number>();
  #queue: Waiting[] = [];
  #inFlight = 0;

  constructor(
    readonly table: TableClient,
    private readonly transactions: TableTransactions,
  ) {}

  /**
   * Stores a record (JSON text) with whatever else is waiting; resolves with the entry's sequence
   * number once it is durable. Two entries may be on their way at once, so the next group forms while
   * the previous one travels; a record is in one of them.
   */
  append(json: string): Promise<number> {
    const bytes = Buffer.byteLength(json);
    if (bytes > ENTRY_BYTES) return Promise.reject(new Error(`A journal record of ${bytes} bytes exceeds the ${ENTRY_BYTES} an entry holds.`));
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ json, bytes, resolve, reject });
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#queue.length > 0 && this.#inFlight < ENTRIES_IN_FLIGHT) {
      let bytes = 0;
      let n = 0;
      while (n < this.#queue.length && (n === 0 || bytes + this.#queue[n].bytes <= ENTRY_BYTES)) bytes += this.#queue[n++].bytes;
      const group = this.#queue.splice(0, n);
      this.#inFlight++;
      void this.#writeGroup(group).finally(() => {
        this.#inFlight--;
        this.#drain();
      });
    }
  }

  async #writeGroup(group: Waiting[]): Promise<void> {
    const seq = this.#nextSeq++;
    const text = `[${group.map((g) => g.json).join(',')}]`;
    const rows: TransactionAction[] = [];
    for (let part = 0, at = 0; at < text.length; part++, at += ROW_CHARS) {
      const row: Record<string, unknown> = { partitionKey: PARTITION, rowKey: rowKey(seq, part), Seq: seq, Part: part };
      packText(row, 'Records', text.slice(at, at + ROW_CHARS), 'A journal entry');
      rows.push(['create', row as { partitionKey: string; rowKey: string }]);
    }
    try {
      await this.transactions.submit(this.table, rows);
    } catch (err) {
      if (isTooLargeForStorage(err) && group.length > 1) {
        // Escaping made the entry larger than estimated: write it in halves.
        const half = Math.ceil(group.length / 2);
        await this.#writeGroup(group.slice(0, half));
        await this.#writeGroup(group.slice(half));
        return;
      }
      const failure = isTooLargeForStorage(err) ? PayloadTooLargeError.refusedByStorage('The step to commit', err) : (err as Error);
      for (const g of group) g.reject(failure);
      return;
    }
    this.#parts.set(seq, rows.length);
    for (const g of group) g.resolve(seq);
  }

  /** Every entry still in the journal, oldest first; later appends continue after the newest. */
  async readAll(): Promise<JournalEntry[]> {
    const parts = new Map<number, Array<{ part: number; text: string }>>();
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${PARTITION}'` } })) {
      const seq = Number(row.Seq);
      const list = parts.get(seq) ?? [];
      list.push({ part: Number(row.Part), text: unpackText(row, 'Records') ?? '' });
      parts.set(seq, list);
    }
    const entries: JournalEntry[] = [];
    for (const [seq, list] of [...parts].sort((a, b) => a[0] - b[0])) {
      list.sort((a, b) => a.part - b.part);
      entries.push({ seq, records: JSON.parse(list.map((p) => p.text).join('')) as unknown[] });
      this.#parts.set(seq, list.length);
      this.#nextSeq = Math.max(this.#nextSeq, seq + 1);
    }
    return entries;
  }

  /** Deletes entries whose records are all applied and delivered. */
  async remove(seqs: number[]): Promise<void> {
    const deletes: TransactionAction[] = seqs.flatMap((seq) =>
      Array.from({ length: this.#parts.get(seq) ?? 1 }, (_, part): TransactionAction => ['delete', { partitionKey: PARTITION, rowKey: rowKey(seq, part) }]),
    );
    for (let i = 0; i < deletes.length; i += MAX_TRANSACTION_OPS) {
      const chunk = deletes.slice(i, i + MAX_TRANSACTION_OPS);
      try {
        await this.transactions.submit(this.table, chunk);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
        // One was gone already (a delete repeated after a crash): delete the rest one by one.
        for (const [, entity] of chunk) {
          await this.table.deleteEntity(entity.partitionKey, entity.rowKey).catch((e: unknown) => {
            if ((e as { statusCode?: number }).statusCode !== 404) throw e;
          });
        }
      }
    }
    for (const seq of seqs) this.#parts.delete(seq);
  }
}
