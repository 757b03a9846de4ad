// A streaming CSV record scanner: fed bytes in chunks of any size (a byte at a time works), it finds
// record boundaries the way RFC 4180 readers do — quoted fields may hold delimiters, quotes ("") and
// line breaks; lines end in LF, CRLF or CR — and counts each record's fields without decoding cells.
// Text is handed over only for the records the consumer asks for (the header, or every row when a row
// schema is set), because counting rows and cells over a gigabyte must not allocate per cell.
// Memory stays bounded: a record longer than `maxRecordBytes` (an unterminated quote, a binary file) is
// counted and reported, never accumulated. Asked to, it also checks that the bytes are UTF-8 text,
// chunk by chunk (a character split across chunks is carried over), and says where the first bad byte is.
import { isAscii, isUtf8 } from 'node:buffer';
import * as uniformRecords from './uniformRecords';

const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];

export type RecordTextMode = 'none' | 'first' | 'all';

/**
 * Called once per non-blank record with the line it starts on and its number of fields. `text` (the
 * record without its line break, decoded as UTF-8, quotes still in place) is given when the mode asks
 * for it and the record fits in `maxRecordBytes`.
 */
export type CsvRecordListener = (lineNumber: number, fieldCount: number, text: string | undefined) => void;

export interface CsvRecordScannerOptions {
  /** One ASCII character; default ','. */
  delimiter?: string;
  /** One ASCII character; default '"'. */
  quote?: string;
  /** Which records' text reaches the listener: none, the first record only (a header), or all. Default 'none'. */
  recordText?: RecordTextMode;
  /** Records longer than this are reported in the summary, and not handed over as text. Default 1 MiB. */
  maxRecordBytes?: number;
  /** Check that the data is UTF-8 text; the first offending byte is reported in the summary. Default false. */
  checkUtf8?: boolean;
  onRecord?: CsvRecordListener;
}

export interface CsvScanSummary {
  /** Non-blank records (a header included). */
  records: number;
  /** Empty lines, which are skipped rather than counted as records. */
  blankLines: number;
  /** Physical lines, counting line breaks inside quoted fields. */
  lines: number;
  /** Bytes scanned, a byte-order mark included. */
  bytes: number;
  /** The line where a quoted field opened and was never closed before the end of the data. */
  unterminatedQuoteLine?: number;
  /** Records longer than maxRecordBytes (their text is never kept): their count and first lines. */
  oversizedRecords: number;
  oversizedRecordLines: number[];
  /** With checkUtf8: where the first byte that is not part of a UTF-8 character is (offset from 0, a byte-order mark counted). */
  invalidUtf8?: { offset: number; line: number };
}

/** Bytes a UTF-8 character takes, from its first byte. */
function utf8Length(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
}

/** How many bytes at the end of `buf` begin a UTF-8 character that the buffer does not finish. */
function unfinishedUtf8Tail(buf: Uint8Array): number {
  for (let k = 1; k <= Math.min(3, buf.length); k++) {
    const b = buf[buf.length - k];
    if ((b & 0xc0) === 0x80) continue;
    return b >= 0xc0 && utf8Length(b) > k ? k : 0;
  }
  return 0;
}

/** The offset of the first byte of `buf` that does not begin a well-formed UTF-8 character (RFC 3629). */
function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    const more = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
    if (more === 0 || i + more >= buf.length) return i;
    // Second bytes that would make an overlong form, a surrogate or a code point past U+10FFFF.
    const low = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const high = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    if (buf[i + 1] < low || buf[i + 1] > high) return i;
    for (let k = 2; k <= more; k++) if ((buf[i + k] & 0xc0) !== 0x80) return i;
    i += more + 1;
  }
  return buf.length;
}

/** Line breaks (LF, CRLF or CR alone) in buf[0, end). */
function lineBreaksBefore(buf: Uint8Array, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) if (buf[i] === LF || (buf[i] === CR && buf[i + 1] !== LF)) n++;
  return n;
}

function asciiCharacter(value: string, what: string): number {
  if (value.length !== 1 || value.charCodeAt(0) > 127 || value === '\n' || value === '\r') {
    throw new RangeError(`The CSV ${what} must be one ASCII character other than a line break; got ${JSON.stringify(value)}.`);
  }
  return value.charCodeAt(0);
}

export class CsvRecordScanner {
  readonly #delimiter: number;
  readonly #delimiterChar: string;
  readonly #quote: number;
  readonly #quoteChar: string;
  readonly #mode: RecordTextMode;
  readonly #maxRecordBytes: number;
  readonly #checkUtf8: boolean;
  readonly #onRecord: CsvRecordListener | undefined;

  // Scanner state carried from one chunk to the next.
  #inQuotes = false;
  /** Inside quotes, a quote was just seen: the next byte says whether it was "" or the closing quote. */
  #quotePending = false;
  #atFieldStart = true;
  /** A record just ended on CR: an LF right after belongs to the same line break. */
  #afterCr = false;
  #delimiters = 0;
  #line = 1;
  #recordStartLine = 1;
  /** The line where the most recent quoted field opened, for reporting one that never closes. */
  #quoteOpenLine = 0;
  #unterminatedQuoteLine = 0;
  /** Bytes of the current record that arrived in earlier chunks. */
  #pendingLength = 0;
  /** Those bytes themselves, when the current record's text is wanted. */
  #pendingParts: Buffer[] = [];
  #oversized = false;
  /** Until three bytes have arrived we cannot tell a byte-order mark from data. */
  #head: Buffer | undefined = Buffer.alloc(0);
  /** The start of a UTF-8 character the previous chunk did not finish. */
  #utf8Carry: Buffer = EMPTY;
  #invalidUtf8: { offset: number; line: number } | undefined;
  #ended = false;
  /** Records with this many fields and no text wanted are counted without a call (see countQuietly). */
  #quietDelimiters = -1;

  #lastByte = -1;
  #records = 0;
  #blankLines = 0;
  #bytes = 0;
  #oversizedRecords = 0;
  #oversizedRecordLines: number[] = [];

  constructor(options: CsvRecordScannerOptions = {}) {
    this.#delimiterChar = options.delimiter ?? ',';
    this.#quoteChar = options.quote ?? '"';
    this.#delimiter = asciiCharacter(this.#delimiterChar, 'delimiter');
    this.#quote = asciiCharacter(this.#quoteChar, 'quote character');
    if (this.#delimiter === this.#quote) throw new RangeError('The CSV delimiter and quote character must differ.');
    this.#mode = options.recordText ?? 'none';
    this.#maxRecordBytes = options.maxRecordBytes ?? 1024 * 1024;
    this.#checkUtf8 = options.checkUtf8 ?? false;
    this.#onRecord = options.onRecord;
  }

  /** Records seen so far (a header included). */
  get records(): number {
    return this.#records;
  }

  /**
   * From now on, records with exactly `fieldCount` fields whose text is not wanted are only counted
   * (`records`), not handed to onRecord: the listener hears about the others. Over a gigabyte of
   * uniform rows that saves a call per row.
   */
  countQuietly(fieldCount: number | undefined): void {
    this.#quietDelimiters = fieldCount === undefined ? -1 : fieldCount - 1;
  }

  write(chunk: Uint8Array): void {
    if (this.#ended) throw new Error('CsvRecordScanner: write after end.');
    if (chunk.length === 0) return;
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.#checkUtf8 && !this.#invalidUtf8) this.#checkUtf8Chunk(buf, this.#bytes);
    this.#bytes += chunk.length;
    if (this.#head !== undefined) {
      const head = Buffer.concat([this.#head, buf]);
      let matches = true;
      for (let i = 0; i < Math.min(head.length, 3); i++) if (head[i] !== BOM[i]) matches = false;
      if (matches && head.length < 3) {
        this.#head = head;
        return;
      }
      this.#head = undefined;
      buf = matches ? head.subarray(3) : head;
    }
    this.#scan(buf);
  }

  /** Flushes the last record (data need not end with a line break) and returns the totals. */
  end(): CsvScanSummary {
    if (!this.#ended) {
      if (this.#head !== undefined) {
        const head = this.#head;
        this.#head = undefined;
        this.#scan(head);
      }
      this.#ended = true;
      // A character the data never finishes.
      if (this.#utf8Carry.length && !this.#invalidUtf8) this.#invalidUtf8 = { offset: this.#bytes - this.#utf8Carry.length, line: this.#line };
      // Remembered, not thrown: the consumer turns it into a validation failure naming the line.
      if (this.#inQuotes && !this.#quotePending) this.#unterminatedQuoteLine = this.#quoteOpenLine;
      this.#inQuotes = false;
      this.#quotePending = false;
      if (this.#pendingLength > 0 || this.#delimiters > 0) this.#emit(EMPTY, '', 0, 0);
    }
    return {
      records: this.#records,
      blankLines: this.#blankLines,
      lines: this.#lastByte === LF || this.#lastByte === CR ? this.#line - 1 : this.#bytes === 0 ? 0 : this.#line,
      bytes: this.#bytes,
      unterminatedQuoteLine: this.#unterminatedQuoteLine > 0 ? this.#unterminatedQuoteLine : undefined,
      oversizedRecords: this.#oversizedRecords,
      oversizedRecordLines: this.#oversizedRecordLines,
      invalidUtf8: this.#invalidUtf8,
    };
  }

  /** Checks one chunk (file offset `start`) as UTF-8, finishing the character the last one began. */
  #checkUtf8Chunk(buf: Buffer, start: number): void {
    const invalidAt = (offset: number, inChunk: number): void => {
      this.#invalidUtf8 = { offset, line: this.#line + lineBreaksBefore(buf, Math.max(0, inChunk)) };
    };
    let from = 0;
    if (this.#utf8Carry.length) {
      const carried = this.#utf8Carry;
      const take = Math.min(utf8Length(carried[0]) - carried.length, buf.length);
      // A byte that cannot continue the character ends it unfinished, on the line where it began.
      for (let i = 0; i < take; i++) {
        if ((buf[i] & 0xc0) !== 0x80) {
          this.#utf8Carry = EMPTY;
          return invalidAt(start - carried.length, 0);
        }
      }
      const joined = Buffer.concat([carried, buf.subarray(0, take)]);
      if (joined.length < utf8Length(carried[0])) {
        this.#utf8Carry = joined;
        return;
      }
      this.#utf8Carry = EMPTY;
      if (!isUtf8(joined)) return invalidAt(start - carried.length, 0);
      from = take;
    }
    const tail = unfinishedUtf8Tail(buf.subarray(from));
    const body = buf.subarray(from, buf.length - tail);
    if (!isUtf8(body)) {
      const at = from + firstInvalidUtf8(body);
      return invalidAt(start + at, at);
    }
    if (tail) this.#utf8Carry = Buffer.from(buf.subarray(buf.length - tail));
  }

  #wantsText(): boolean {
    return this.#mode === 'all' || (this.#mode === 'first' && this.#records === 0);
  }

  /**
   * Ends the current record, whose tail is buf[start, end). `asciiText` is the chunk as text when the
   * chunk is pure ASCII (so byte offsets are character offsets), else ''.
   */
  #emit(buf: Buffer, asciiText: string, start: number, end: number): void {
    const length = this.#pendingLength + (end - start);
    if (length === 0 && this.#delimiters === 0) {
      this.#blankLines++;
    } else {
      let text: string | undefined;
      // Reported whether or not its text was wanted: no row of a CSV the scanner is meant for is that long.
      const oversized = this.#oversized || length > this.#maxRecordBytes;
      if (oversized) {
        this.#oversizedRecords++;
        if (this.#oversizedRecordLines.length < 100) this.#oversizedRecordLines.push(this.#recordStartLine);
      }
      if (this.#wantsText() && !oversized) {
        if (this.#pendingParts.length === 0) {
          text = asciiText !== '' ? asciiText.slice(start, end) : buf.toString('utf8', start, end);
        } else {
          this.#pendingParts.push(buf.subarray(start, end));
          text = Buffer.concat(this.#pendingParts, length).toString('utf8');
        }
      }
      this.#records++;
      this.#onRecord?.(this.#recordStartLine, this.#delimiters + 1, text);
    }
    this.#pendingLength = 0;
    if (this.#pendingParts.length) this.#pendingParts = [];
    this.#oversized = false;
    this.#delimiters = 0;
    this.#atFieldStart = true;
  }

  #scan(buf: Buffer): void {
    const n = buf.length;
    if (n === 0) return;
    const delimiter = this.#delimiter;
    const quote = this.#quote;
    // Bytes above all four that matter (delimiter, quote, LF, CR) are ordinary text: one comparison each.
    const top = Math.max(delimiter, quote, LF, CR);
    // The chunk as text only when record text is wanted and byte offsets are character offsets.
    const asciiText = this.#mode !== 'none' && isAscii(buf) ? buf.toString('latin1') : '';

    // Hot loop: state lives in locals and is written back around #emit and at the end.
    let inQuotes = this.#inQuotes;
    let quotePending = this.#quotePending;
    let afterCr = this.#afterCr;
    let delimiters = this.#delimiters;
    let line = this.#line;
    let records = this.#records;
    let recordStartLine = this.#recordStartLine;
    /** Where the current record's bytes start in this chunk. */
    let recordStart = 0;
    // Counting quietly needs no text wanted and no part of the record in an earlier chunk.
    const quiet = this.#mode === 'all' || (this.#mode === 'first' && records === 0) ? -2 : this.#quietDelimiters;
    let carried = this.#pendingLength > 0;
    // (No closures in here: a variable a closure captures is no longer a register in the hot loop.)

    let i = 0;
    while (i < n) {
      if (afterCr) {
        afterCr = false;
        if (buf[i] === LF) {
          recordStart = ++i;
          continue;
        }
      }
      if (inQuotes) {
        if (quotePending) {
          quotePending = false;
          if (buf[i] === quote) {
            i++; // "" is a quote inside the field
            continue;
          }
          inQuotes = false; // the previous quote closed the field; this byte is read as unquoted text
        } else {
          // Inside quotes only the next quote matters; line breaks in between advance the line number.
          let j = i;
          for (; j < n; j++) {
            const c = buf[j];
            if (c === quote) break;
            if (c === LF) line++;
          }
          if (j === n) {
            i = n;
            break;
          }
          quotePending = true;
          i = j + 1;
          continue;
        }
      }
      // At a record's start, the rows that need no closer look are only counted (see uniformRecords.ts).
      if (quiet >= 0 && i === recordStart && !carried && delimiters === 0) {
        const counted = uniformRecords.countUniformRecords(buf, i, n, delimiter, quote, quiet);
        if (counted > 0) {
          records += counted;
          line += counted;
          recordStartLine = line;
          i = recordStart = uniformRecords.uniformEnd;
          if (i >= n) break;
        }
      }
      // Outside quotes: skip to the next line break or quote, counting delimiters on the way.
      let j = i;
      let c = 0;
      for (; j < n; j++) {
        c = buf[j];
        if (c > top) continue;
        if (c === delimiter) delimiters++;
        else if (c === LF || c === CR || c === quote) break;
      }
      if (j === n) {
        i = n;
        break;
      }
      if (c === quote) {
        // A quote opens a quoted field only where a field starts: after a delimiter or at the record's start.
        if (j === recordStart ? j > 0 || this.#atFieldStart : buf[j - 1] === delimiter) {
          inQuotes = true;
          this.#quoteOpenLine = line;
        }
        i = j + 1;
        continue;
      }
      this.#delimiters = delimiters;
      this.#recordStartLine = recordStartLine;
      this.#records = records;
      this.#emit(buf, asciiText, recordStart, j);
      records = this.#records;
      carried = false;
      delimiters = 0;
      recordStartLine = ++line;
      afterCr = c === CR;
      i = j + 1;
      recordStart = i;
    }

    this.#lastByte = buf[n - 1];
    // Keep what the next chunk needs to finish the current record.
    const tail = n - recordStart;
    if (tail > 0) {
      if (this.#wantsText() && !this.#oversized) {
        if (this.#pendingLength + tail > this.#maxRecordBytes) {
          this.#oversized = true;
          this.#pendingParts = [];
        } else {
          this.#pendingParts.push(Buffer.from(buf.subarray(recordStart, n)));
        }
      }
      this.#pendingLength += tail;
      this.#atFieldStart = buf[n - 1] === delimiter;
    } else {
      this.#atFieldStart = true;
    }
    this.#inQuotes = inQuotes;
    this.#quotePending = quotePending;
    this.#afterCr = afterCr;
    this.#delimiters = delimiters;
    this.#line = line;
    this.#records = records;
    this.#recordStartLine = recordStartLine;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Splits one record's text into cells: quotes removed, "" unescaped, delimiters inside quotes kept.
 * The record must be complete (from the scanner); line breaks inside quoted cells are kept as written.
 */
export function splitCsvRecord(text: string, delimiter = ',', quote = '"'): string[] {
  if (text.indexOf(quote) === -1) {
    // indexOf + substring beats String#split on the sliced strings the scanner hands over.
    const cells: string[] = [];
    let start = 0;
    for (;;) {
      const next = text.indexOf(delimiter, start);
      if (next === -1) {
        cells.push(text.substring(start));
        return cells;
      }
      cells.push(text.substring(start, next));
      start = next + 1;
    }
  }
  const cells: string[] = [];
  let cell = '';
  let atFieldStart = true;
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c !== quote) cell += c;
      else if (text[i + 1] === quote) {
        cell += quote;
        i++;
      } else inQuotes = false;
    } else if (c === delimiter) {
      cells.push(cell);
      cell = '';
      atFieldStart = true;
    } else if (c === quote && atFieldStart) {
      inQuotes = true;
      atFieldStart = false;
    } else {
      cell += c;
      atFieldStart = false;
    }
  }
  cells.push(cell);
  return cells;
}
