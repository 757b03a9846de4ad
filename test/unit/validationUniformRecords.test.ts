// The scanner's WebAssembly fast path counts exactly the records a plain reading would call plain rows,
// wherever the 256 KiB windows it copies fall, and the module it runs is the one its .wat source assembles to.
import { assembleUniformRecords, uniformRecordsModuleText } from '../../src/validation/publishUniformRecordsWasm';
import { countUniformRecords, uniformEnd } from '../../src/validation/uniformRecords';
import { UNIFORM_RECORDS_WASM } from '../../src/validation/uniformRecordsWasm';
import { CsvRecordScanner } from '../../src/validation/csvRecordScanner';
import * as fs from 'node:fs';
import * as path from 'node:path';

const LF = 0x0a;
const CR = 0x0d;

/** The rule written plainly: records from `start` with `k` delimiters, no quote, no CR but in CRLF, not empty, ended by a line break. */
function reference(buf: Buffer, start: number, delimiter: number, quote: number, k: number): { count: number; end: number } {
  let count = 0;
  let at = start;
  for (;;) {
    const lf = buf.indexOf(LF, at);
    if (lf === -1) return { count, end: at };
    let record = buf.subarray(at, lf);
    if (record.length > 0 && record[record.length - 1] === CR) record = record.subarray(0, record.length - 1);
    const delimiters = record.reduce((n, c) => n + (c === delimiter ? 1 : 0), 0);
    if (record.length === 0 || record.includes(CR) || record.includes(quote) || delimiters !== k) return { count, end: at };
    count++;
    at = lf + 1;
  }
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** About `bytes` of mostly plain rows of `k + 1` cells, with now and then a row that is not: another cell count, a quote, a lone CR, a blank line. */
function rows(random: () => number, bytes: number, delimiter: string, k: number, oddShare: number): string {
  const out: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const cells = Array.from({ length: k + 1 }, (_, c) => (c === 0 ? String(i) : `v${Math.floor(random() * 1e6)}${random() < 0.1 ? ' with spaces' : ''}`));
    let row = cells.join(delimiter);
    const r = random();
    if (r < oddShare * 0.3) row += delimiter + 'extra';
    else if (r < oddShare * 0.5) row = `${i}${delimiter}"quoted"`;
    else if (r < oddShare * 0.6) row = '';
    else if (r < oddShare * 0.7) row += '\rlone';
    row += random() < 0.3 ? '\r\n' : '\n';
    out.push(row);
    length += row.length;
  }
  return out.join('');
}

describe('countUniformRecords (the WebAssembly fast path)', () => {
  it('is assembled from uniformRecords.wat as committed (run `npm run build:wasm` after editing the .wat)', async () => {
    const bytes = await assembleUniformRecords();
    expect(Buffer.from(bytes).toString('base64')).toBe(UNIFORM_RECORDS_WASM);
    const committed = fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'validation', 'uniformRecordsWasm.ts'), 'utf8');
    expect(committed).toBe(uniformRecordsModuleText(bytes));
  });

  it('agrees with the plain rule from each record it stops at, on data several windows long', () => {
    for (const [seed, delimiter, k] of [
      [1, ',', 3],
      [2, '\t', 1],
      [3, ';', 0],
    ] as const) {
      const random = seeded(seed);
      const data = Buffer.from(rows(random, 900_000, delimiter, k, 0.002), 'utf8');
      expect(data.length).toBeGreaterThan(3 * 256 * 1024);
      const d = delimiter.charCodeAt(0);
      let at = 0;
      let starts = 0;
      while (at < data.length) {
        const expected = reference(data, at, d, 0x22, k);
        const count = countUniformRecords(data, at, data.length, d, 0x22, k);
        expect({ seed, at, count, end: uniformEnd }).toEqual({ seed, at, count: expected.count, end: expected.end });
        starts++;
        // On past the record that stopped it (the scanner's general loop would read that one).
        const next = data.indexOf(LF, expected.end);
        at = next === -1 ? data.length : next + 1;
      }
      expect(starts).toBeGreaterThan(20);
    }
  });

  it('agrees with the plain rule from every record start on LF-only rows of every length (the 64-byte path)', () => {
    const random = seeded(5);
    const rows: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const cell = (): string => 'x'.repeat(Math.floor(random() * (random() < 0.1 ? 120 : 14)));
      const cells = random() < 0.01 ? 5 : 4;
      rows.push(`${Array.from({ length: cells }, cell).join(',')}${random() < 0.005 ? '\n' : ''}\n`);
    }
    const data = Buffer.from(rows.join(''), 'latin1');
    let checked = 0;
    for (let at = 0; at < data.length; at = data.indexOf(LF, at) + 1 || data.length) {
      const expected = reference(data, at, 0x2c, 0x22, 3);
      const count = countUniformRecords(data, at, data.length, 0x2c, 0x22, 3);
      if (count !== expected.count || uniformEnd !== expected.end) expect({ at, count, end: uniformEnd }).toEqual({ at, ...expected });
      checked++;
    }
    expect(checked).toBeGreaterThan(6000);
  });

  it('stops at the end of the data inside a record, at a CR the data does not finish, and counts nothing from the end', () => {
    const data = Buffer.from('a,b\nc,d\r\ne,f\r', 'latin1');
    expect(countUniformRecords(data, 0, data.length, 0x2c, 0x22, 1)).toBe(2);
    expect(uniformEnd).toBe(9);
    expect(countUniformRecords(data, 0, 7, 0x2c, 0x22, 1)).toBe(1);
    expect(uniformEnd).toBe(4);
    expect(countUniformRecords(data, data.length, data.length, 0x2c, 0x22, 1)).toBe(0);
    expect(uniformEnd).toBe(data.length);
  });

  it('leaves a record longer than a window to the general loop, and goes on across windows that end mid-record', () => {
    const long = `${'x'.repeat(300 * 1024)},y\n`;
    const plain = 'p,q\n'.repeat(100_000);
    const data = Buffer.from(plain + long + plain, 'latin1');
    // The plain rows run over two windows; the long record's line feed lies beyond the window that starts with it.
    expect(countUniformRecords(data, 0, data.length, 0x2c, 0x22, 1)).toBe(100_000);
    expect(uniformEnd).toBe(plain.length);
    expect(countUniformRecords(data, plain.length, data.length, 0x2c, 0x22, 1)).toBe(0);
    expect(uniformEnd).toBe(plain.length);
    expect(countUniformRecords(data, plain.length + long.length, data.length, 0x2c, 0x22, 1)).toBe(100_000);
    expect(uniformEnd).toBe(data.length);
  });

  it('leaves the scanner with the same totals as reading every record, on a file fed in one piece and in 64 KiB chunks', () => {
    const data = Buffer.from(rows(seeded(9), 1_500_000, ',', 2, 0.01), 'utf8');
    const summaries = [false, true].map((quiet) =>
      [data.length, 65_536].map((chunk) => {
        let reported = 0;
        const scanner = new CsvRecordScanner({ onRecord: () => reported++ });
        if (quiet) scanner.countQuietly(3);
        for (let at = 0; at < data.length; at += chunk) scanner.write(data.subarray(at, at + chunk));
        return { summary: scanner.end(), reported };
      }),
    );
    const [loud, quiet] = summaries;
    for (const s of [...loud, ...quiet]) expect(s.summary).toEqual(loud[0].summary);
    expect(quiet[0].reported).toBeLessThan(loud[0].reported / 10);
  });
});
