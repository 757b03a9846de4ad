// The streaming CSV scanner finds the same records whatever the chunking: quoted delimiters, quotes and
// line breaks, CRLF and lone CR, blank lines, a byte-order mark, unterminated quotes, oversized records.
import { CsvRecordScanner, splitCsvRecord, type CsvScanSummary, type RecordTextMode } from '../../src/validation/csvRecordScanner';

interface Seen {
  records: Array<{ line: number; fields: number; text?: string }>;
  summary: CsvScanSummary;
}

function scan(
  data: Buffer | string,
  chunkSizes: (index: number) => number,
  options: { mode?: RecordTextMode; delimiter?: string; maxRecordBytes?: number; quietFields?: number; checkUtf8?: boolean } = {},
): Seen {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const records: Seen['records'] = [];
  const scanner = new CsvRecordScanner({
    delimiter: options.delimiter,
    recordText: options.mode ?? 'all',
    maxRecordBytes: options.maxRecordBytes,
    checkUtf8: options.checkUtf8,
    onRecord: (line, fields, text) => records.push(text === undefined ? { line, fields } : { line, fields, text }),
  });
  if (options.quietFields !== undefined) scanner.countQuietly(options.quietFields);
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = Math.min(Math.max(1, chunkSizes(i)), bytes.length - offset);
    // Copy into a fresh buffer at an odd offset so nothing relies on alignment or on the caller's memory.
    const chunk = Buffer.alloc(size + 1).subarray(1);
    const n = bytes.copy(chunk, 0, offset, offset + size);
    scanner.write(chunk.subarray(0, n));
    offset += n;
  }
  return { records, summary: scanner.end() };
}

const whole = (): number => Number.MAX_SAFE_INTEGER;
const byteByByte = (): number => 1;

/** A deterministic generator, so a failing chunking can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const TRICKY = [
  '\ufeffid,score,comment\r\n',
  '1,0.5,plain\r\n',
  '2,0.25,"has, a comma"\r\n',
  '3,0.125,"has ""quotes"" inside"\r\n',
  '4,0.75,"spans\r\ntwo lines"\r\n',
  '\r\n',
  '5,1,"ends with quote"""\n',
  '6,0,\n',
  '7,,""\r',
  '8,"é ü 中文",x\n',
  'last,row,no-newline',
].join('');

const EXPECTED_TRICKY = [
  { line: 1, fields: 3, text: 'id,score,comment' },
  { line: 2, fields: 3, text: '1,0.5,plain' },
  { line: 3, fields: 3, text: '2,0.25,"has, a comma"' },
  { line: 4, fields: 3, text: '3,0.125,"has ""quotes"" inside"' },
  { line: 5, fields: 3, text: '4,0.75,"spans\r\ntwo lines"' },
  { line: 8, fields: 3, text: '5,1,"ends with quote"""' },
  { line: 9, fields: 3, text: '6,0,' },
  { line: 10, fields: 3, text: '7,,""' },
  { line: 11, fields: 3, text: '8,"é ü 中文",x' },
  { line: 12, fields: 3, text: 'last,row,no-newline' },
];

describe('CsvRecordScanner', () => {
  it('finds quoted delimiters, escaped quotes, quoted line breaks, CRLF, CR and blank lines in one pass', () => {
    const { records, summary } = scan(TRICKY, whole);
    expect(records).toEqual(EXPECTED_TRICKY);
    expect(summary).toMatchObject({ records: 10, blankLines: 1, lines: 12, unterminatedQuoteLine: undefined, oversizedRecords: 0 });
  });

  it('gives the same records when fed one byte at a time', () => {
    expect(scan(TRICKY, byteByByte).records).toEqual(EXPECTED_TRICKY);
  });

  it('gives the same records for every split into two chunks', () => {
    const bytes = Buffer.from(TRICKY, 'utf8');
    for (let cut = 1; cut < bytes.length; cut++) {
      const seen = scan(bytes, (i) => (i === 0 ? cut : bytes.length));
      expect({ cut, records: seen.records }).toEqual({ cut, records: EXPECTED_TRICKY });
    }
  });

  it('gives the same records and totals for random chunkings', () => {
    const reference = scan(TRICKY, whole);
    for (let seed = 1; seed <= 200; seed++) {
      const random = seeded(seed);
      const seen = scan(TRICKY, () => 1 + Math.floor(random() * 9));
      expect({ seed, records: seen.records, summary: seen.summary }).toEqual({ seed, records: reference.records, summary: reference.summary });
    }
  });

  it('counts the same rows and cells on a larger file for random chunkings, with and without text', () => {
    const random = seeded(7);
    const rows: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const note = random() < 0.2 ? `"note, ${i}\nwith ""quote"""` : `note${i}`;
      rows.push(`${i},${random().toFixed(4)},${note}${random() < 0.3 ? '\r\n' : '\n'}`);
    }
    const data = Buffer.from(rows.join(''), 'utf8');
    const reference = scan(data, whole, { mode: 'none' });
    expect(reference.summary.records).toBe(3000);
    expect(reference.records.every((r) => r.fields === 3)).toBe(true);
    for (const seed of [11, 12, 13]) {
      const r = seeded(seed);
      const counted = scan(data, () => 1 + Math.floor(r() * 70000), { mode: 'none' });
      expect(counted.records).toEqual(reference.records);
      const texted = scan(data, () => 1 + Math.floor(r() * 300), { mode: 'all' });
      expect(texted.records.map(({ line, fields }) => ({ line, fields }))).toEqual(reference.records);
      expect(texted.records.every((rec) => splitCsvRecord(rec.text ?? '').length === 3)).toBe(true);
    }
  });

  it('counts rows with the quiet field count quietly, reporting every other row with its line, for every chunking', () => {
    const random = seeded(21);
    const rows: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const r = random();
      const cells = r < 0.05 ? `${i},short` : r < 0.1 ? `${i},${i},${i},long` : r < 0.2 ? `${i},"quoted, with\nbreak",x` : `${i},${(r * 10).toFixed(3)},label`;
      rows.push(`${cells}${random() < 0.3 ? '\r\n' : random() < 0.05 ? '\r' : '\n'}${random() < 0.02 ? '\n' : ''}`);
    }
    const data = Buffer.from(rows.join(''), 'utf8');
    const reference = scan(data, whole, { mode: 'none' });
    const odd = reference.records.filter((r) => r.fields !== 3);
    expect(odd.length).toBeGreaterThan(100);
    const key = (r: { line: number; fields: number }): string => `${r.line}:${r.fields}`;
    const all = new Set(reference.records.map(key));
    for (const seed of [31, 32, 33, 34]) {
      const r = seeded(seed);
      const quiet = scan(data, () => 1 + Math.floor(r() * (seed === 34 ? 7 : 5000)), { mode: 'none', quietFields: 3 });
      // Rows it could not settle inside one chunk may still be reported; rows that differ always are.
      expect(quiet.records.filter((rec) => rec.fields !== 3)).toEqual(odd);
      expect(quiet.records.every((rec) => all.has(key(rec)))).toBe(true);
      // With large chunks most rows are only counted (with 1-7 byte chunks every row spans chunks).
      if (seed !== 34) expect(quiet.records.length).toBeLessThan(reference.records.length / 2);
      expect(quiet.summary).toEqual(reference.summary);
    }
    // With the first record's text wanted (a header), that record is still handed over.
    const first = scan(data, whole, { mode: 'first', quietFields: 3 });
    expect(first.records[0]).toEqual({ line: 1, fields: 3, text: rows[0].replace(/[\r\n]+$/, '') });
  });

  it('skips a UTF-8 byte-order mark even when it arrives split across chunks', () => {
    const seen = scan('\ufeffa,b\n1,2\n', byteByByte);
    expect(seen.records[0].text).toBe('a,b');
  });

  it('treats a data start that merely resembles a byte-order mark as data', () => {
    const bytes = Buffer.from([0xef, 0xbb, 0x41, 0x0a]);
    const seen = scan(bytes, byteByByte);
    expect(seen.summary.records).toBe(1);
    expect(seen.records[0].fields).toBe(1);
  });

  it('reports the line where a quoted field opens and never closes', () => {
    const seen = scan('a,b\n1,"never closed\n2,3\n4,5\n', byteByByte);
    expect(seen.summary.unterminatedQuoteLine).toBe(2);
    expect(seen.summary.records).toBe(2);
  });

  it('counts a record longer than maxRecordBytes without keeping its text', () => {
    const long = 'x'.repeat(5000);
    const seen = scan(`a,b\n1,${long}\n2,3\n`, (i) => (i % 2 ? 7 : 1000), { maxRecordBytes: 1000 });
    expect(seen.summary.oversizedRecords).toBe(1);
    expect(seen.summary.oversizedRecordLines).toEqual([2]);
    expect(seen.records.map((r) => r.text)).toEqual(['a,b', undefined, '2,3']);
    expect(seen.records[1].fields).toBe(2);
  });

  it('reports a record longer than maxRecordBytes even when no text is wanted (issue 10 §3)', () => {
    const seen = scan(`1,2\n${'x'.repeat(5000)}`, (i) => (i % 2 ? 7 : 1000), { mode: 'none', maxRecordBytes: 1000 });
    expect(seen.summary).toMatchObject({ records: 2, oversizedRecords: 1, oversizedRecordLines: [2] });
  });

  describe('with checkUtf8 (issue 10 §3)', () => {
    const utf8 = Buffer.from('\ufeffa,café\r\nb,数据\nc,🙂\n', 'utf8');
    const cases: Array<[string, Buffer, { offset: number; line: number } | undefined]> = [
      ['UTF-8 with a byte-order mark, accents, CJK and emoji', utf8, undefined],
      ['a Latin-1 byte', Buffer.from('a,b\nc,caf\xe9\n', 'latin1'), { offset: 9, line: 2 }],
      ['a continuation byte alone', Buffer.from([0x61, 0x0a, 0x80]), { offset: 2, line: 2 }],
      ['an overlong form', Buffer.from([0x61, 0xc0, 0xaf]), { offset: 1, line: 1 }],
      ['an encoded surrogate', Buffer.from([0x0d, 0x0a, 0x0d, 0xed, 0xa0, 0x80]), { offset: 3, line: 3 }],
      ['a code point past U+10FFFF', Buffer.from([0xf4, 0x90, 0x80, 0x80]), { offset: 0, line: 1 }],
      ['a character cut off at the end', Buffer.concat([Buffer.from('a\nb\n'), Buffer.from([0xf0, 0x9f, 0x99])]), { offset: 4, line: 3 }],
      ['a character cut off by the next one', Buffer.from([0x61, 0xe6, 0x95, 0xe6, 0x95, 0xb0]), { offset: 1, line: 1 }],
    ];
    it.each(cases)('%s: the same verdict whatever the chunking', (_name, bytes, expected) => {
      for (const chunking of [whole, byteByByte, (i: number) => 1 + (i % 3), (i: number) => 2 + (i % 2)]) {
        expect(scan(bytes, chunking, { checkUtf8: true }).summary.invalidUtf8).toEqual(expected);
      }
    });

    it('is off unless asked for', () => {
      expect(scan(Buffer.from([0xff, 0x0a]), whole).summary.invalidUtf8).toBeUndefined();
    });
  });

  it('hands over only the first record in "first" mode', () => {
    const seen = scan('h1;h2\n1;2\n3;4\n', byteByByte, { mode: 'first', delimiter: ';' });
    expect(seen.records).toEqual([
      { line: 1, fields: 2, text: 'h1;h2' },
      { line: 2, fields: 2 },
      { line: 3, fields: 2 },
    ]);
  });

  it('counts tab-separated cells and keeps a quote in the middle of a cell as text', () => {
    const seen = scan('a\tb"c\td\n', whole, { delimiter: '\t' });
    expect(seen.records).toEqual([{ line: 1, fields: 3, text: 'a\tb"c\td' }]);
    expect(splitCsvRecord('a\tb"c\td', '\t')).toEqual(['a', 'b"c', 'd']);
  });

  it('reports an empty input as no records and no lines', () => {
    expect(scan('', whole).summary).toMatchObject({ records: 0, lines: 0, bytes: 0 });
    expect(scan('\n\r\n', byteByByte).summary).toMatchObject({ records: 0, blankLines: 2 });
  });

  it('refuses a delimiter that is a line break or equals the quote', () => {
    expect(() => new CsvRecordScanner({ delimiter: '\n' })).toThrow(/delimiter/);
    expect(() => new CsvRecordScanner({ delimiter: '"' })).toThrow(/differ/);
  });
});

describe('splitCsvRecord', () => {
  it('unquotes cells, unescapes doubled quotes and keeps quoted delimiters and line breaks', () => {
    expect(splitCsvRecord('1,"a, b","say ""hi""","x\ny",')).toEqual(['1', 'a, b', 'say "hi"', 'x\ny', '']);
  });
});
