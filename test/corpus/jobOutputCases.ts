// Damaged and unusual job outputs, as data: what a finished batch job left in its output folder, what
// it read, the route's validation rules, and the verdict validation must reach — passed, or failed
// with the first failing check and a reason that names the file and line.
//
// What Azure ML batch output legitimately holds: append_row writes predictions.csv as UTF-8 text, one
// row per input row, no header, LF line endings (CRLF or a byte-order mark when a scoring script on
// Windows or with utf-8-sig wrote it, which readers accept: such files pass if otherwise valid). Bytes
// that are not UTF-8, a quote that never closes, a row longer than 1 MiB or rows of the wrong width are
// not something a working job writes: they fail, saying where.

export type OutputContent =
  | string
  | Buffer
  /** `bytes` of one line of `unit` with no line break at all, streamed into storage, never held. */
  | { repeat: string; bytes: number };

export interface JobOutputCase {
  name: string;
  /** predictions.csv; undefined = the job wrote none. */
  predictions: OutputContent | undefined;
  /** The one input CSV the job read (header line + rows); default three rows. */
  input?: string;
  /** The route's `validation:` section; default {}. */
  rules?: Record<string, unknown>;
  expect: { passed: true; rows?: number } | { passed: false; check: string; detail: RegExp };
}

export const THREE_INPUT_ROWS = 'customer,tenure,plan\nc1,3,basic\nc2,5,plus\nc3,1,basic\n';
const BOM = '\ufeff';
const MB = 1024 * 1024;
const fails = (check: string, detail: RegExp): JobOutputCase['expect'] => ({ passed: false, check, detail });
const passes = (rows = 3): JobOutputCase['expect'] => ({ passed: true, rows });

export const JOB_OUTPUT_CASES: JobOutputCase[] = [
  // ---- structure ---------------------------------------------------------------------------------
  { name: 'a quote that never closes', predictions: 'c1,0.5,a.csv\nc2,"0.7,a.csv\nc3,0.1,a.csv\n', expect: fails('csvWellFormed', /quoted field that opens on line 2 of predictions\.csv is never closed/) },
  {
    name: 'a 100 MB line without a line break',
    predictions: { repeat: 'c1;0.5;a.csv|', bytes: 100 * MB },
    input: 'customer,tenure,plan\nc1,3,basic\n',
    expect: fails('csvWellFormed', /record of predictions\.csv is longer than 1 MiB \(first on line 1\)/),
  },
  { name: 'a row with a cell missing', predictions: 'c1,0.5,a.csv\nc2,0.7\nc3,0.1,a.csv\n', expect: fails('columnCount', /1 of 3 rows of predictions\.csv do not have 3 columns \(as the first row has\); first: line 2 has 2 columns/) },
  { name: 'a row with a cell too many', predictions: 'c1,0.5,a.csv\nc2,0.7,a.csv\nc3,0.1,a.csv,extra\n', expect: fails('columnCount', /first: line 3 has 4 columns/) },
  { name: 'rows narrower than the rules say', predictions: 'c1,0.5\nc2,0.7\nc3,0.1\n', rules: { predictions: { columnCount: 3 } }, expect: fails('columnCount', /3 of 3 rows .* do not have 3 columns \(as the rules require\)/) },
  { name: 'more rows than inputs', predictions: 'c1,0.5,a.csv\nc2,0.7,a.csv\nc3,0.1,a.csv\nc4,0.2,a.csv\n', expect: fails('rowCount', /predictions\.csv has 4 rows for 3 input rows in 1 file: 1 more; no difference is allowed/) },
  { name: 'no predictions file', predictions: undefined, expect: fails('outputsPresent', /expected output file predictions\.csv is missing/) },

  // ---- empty and nearly empty --------------------------------------------------------------------
  { name: 'an empty file', predictions: '', expect: fails('outputsNonEmpty', /output file predictions\.csv is empty \(0 bytes\)/) },
  { name: 'only line breaks', predictions: '\n\r\n\n', expect: fails('outputsNonEmpty', /has no prediction rows \(only blank lines\)/) },
  { name: 'only a header', predictions: 'customer,score,file\n', rules: { predictions: { header: true } }, expect: fails('outputsNonEmpty', /has no prediction rows \(only a header line\)/) },
  { name: 'only a byte-order mark', predictions: BOM, expect: fails('outputsNonEmpty', /has no prediction rows/) },

  // ---- line endings and byte-order marks ---------------------------------------------------------
  { name: 'a byte-order mark', predictions: `${BOM}c1,0.5,a.csv\nc2,0.7,a.csv\nc3,0.1,a.csv\n`, expect: passes() },
  { name: 'CRLF line endings', predictions: 'c1,0.5,a.csv\r\nc2,0.7,a.csv\r\nc3,0.1,a.csv\r\n', expect: passes() },
  { name: 'a byte-order mark, CRLF and a header the rules name', predictions: `${BOM}customer,score,file\r\nc1,0.5,a.csv\r\nc2,0.7,a.csv\r\nc3,0.1,a.csv\r\n`, rules: { predictions: { header: true, columns: ['customer', 'score', 'file'] } }, expect: passes() },
  { name: 'old Mac line endings (CR alone)', predictions: 'c1,0.5,a.csv\rc2,0.7,a.csv\rc3,0.1,a.csv\r', expect: passes() },
  { name: 'LF and CRLF mixed', predictions: 'c1,0.5,a.csv\r\nc2,0.7,a.csv\nc3,0.1,a.csv\r\n', expect: passes() },
  { name: 'no line break after the last row', predictions: 'c1,0.5,a.csv\nc2,0.7,a.csv\nc3,0.1,a.csv', expect: passes() },
  { name: 'blank lines between and after rows', predictions: '\nc1,0.5,a.csv\n\nc2,0.7,a.csv\r\n\r\nc3,0.1,a.csv\n\n\n', expect: passes() },
  { name: 'quoted cells holding commas, quotes and line breaks', predictions: 'c1,0.5,"a,b.csv"\nc2,0.7,"say ""hi""\nthere"\nc3,0.1,"x\r\ny"\n', expect: passes() },

  // ---- encodings ---------------------------------------------------------------------------------
  { name: 'UTF-8 beyond ASCII (accents, CJK, emoji)', predictions: 'c1,0.5,café.csv\nc2,0.7,数据.csv\nc3,0.1,🙂.csv\n', expect: passes() },
  { name: 'a Latin-1 byte', predictions: Buffer.concat([Buffer.from('c1,0.5,a.csv\nc2,0.7,caf'), Buffer.from([0xe9]), Buffer.from('.csv\nc3,0.1,a.csv\n')]), expect: fails('csvWellFormed', /predictions\.csv is not UTF-8 text \(at byte offset 23, line 2\)/) },
  { name: 'UTF-16 with its byte-order mark', predictions: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('c1,0.5,a.csv\nc2,0.7,a.csv\nc3,0.1,a.csv\n', 'utf16le')]), expect: fails('csvWellFormed', /predictions\.csv is not UTF-8 text \(at byte offset 0, line 1\)/) },
  { name: 'gzip bytes under a .csv name', predictions: Buffer.from('1f8b0800000000000003cb48cdc9c95728cf2fca49e10200d7d3dbb60c000000', 'hex'), expect: fails('csvWellFormed', /predictions\.csv is not UTF-8 text/) },
  { name: 'an overlong encoding of /', predictions: Buffer.concat([Buffer.from('c1,0.5,a'), Buffer.from([0xc0, 0xaf]), Buffer.from('b.csv\nc2,0.7,a.csv\nc3,0.1,a.csv\n')]), expect: fails('csvWellFormed', /is not UTF-8 text \(at byte offset 8, line 1\)/) },
  { name: 'a UTF-8 sequence cut off at the end', predictions: Buffer.concat([Buffer.from('c1,0.5,a.csv\nc2,0.7,a.csv\nc3,0.1,a'), Buffer.from([0xe2, 0x82])]), expect: fails('csvWellFormed', /is not UTF-8 text \(at byte offset 34, line 3\)/) },
  { name: 'an encoded UTF-16 surrogate', predictions: Buffer.concat([Buffer.from('c1,0.5,a.csv\nc2,0.7,'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\nc3,0.1,a.csv\n')]), expect: fails('csvWellFormed', /is not UTF-8 text \(at byte offset 20, line 2\)/) },

  // ---- cells the row schema refuses --------------------------------------------------------------
  {
    name: 'a score that is not a number',
    predictions: 'c1,0.5,a.csv\nc2,high,a.csv\nc3,0.1,a.csv\n',
    rules: { predictions: { columns: ['customer', 'score', 'file'] }, rowSchema: { type: 'object', properties: { score: { type: 'number', minimum: 0, maximum: 1 } }, required: ['score'] } },
    expect: fails('rowSchema', /1 of 3 rows of predictions\.csv do not match the row schema; first: line 2/),
  },
];
