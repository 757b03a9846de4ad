// A streaming CSV record scanner: fed bytes in chunks of any size (a byte at a time works), it finds
// record boundaries the way RFC 4180 readers do — quoted fields may hold delimiters, quotes ("") and
// line breaks; lines end in LF, CRLF or CR — and counts each record's fields without decoding cells.
// Text is handed over only for the records the consumer asks for (the header, or every row when a row
// schema is set), because counting rows and cells over a gigabyte must not allocate per cell.
// Memory stays bounded: a record longer than `maxRecordBytes` (an unterminated quote, a binary file) is
// counted and reported, never accumulated. Asked to, it also checks that the bytes are UTF-8 text,
// chunk by chunk (a character split across chunks is carried over), and says where the first bad byte is.
import { isAscii, isUtf8 } from 'node:buffer';

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
    const delimiterChar = this.#delimiterChar;
    const quoteChar = this.#quoteChar;
    // The chunk as a one-byte string: String.prototype.indexOf is a fast builtin, Buffer#indexOf a C++ call.
    const text = buf.toString('latin1');
    const asciiText = this.#mode !== 'none' && isAscii(buf) ? text : '';

    // Hot loop: state lives in locals and is written back around #emit and at the end.
    let inQuotes = this.#inQuotes;
    let quotePending = this.#quotePending;
    let atFieldStart = this.#atFieldStart;
    let afterCr = this.#afterCr;
    let delimiters = this.#delimiters;
    let line = this.#line;
    let recordStart = 0;
    // Next positions of LF, CR, quote and delimiter at or after i; -1 = not looked up yet, n = none left.
    // Each is searched for once per occurrence, so a chunk costs a handful of indexOf calls per record.
    let nextLf = -1;
    let nextCr = -1;
    let nextQuote = -1;
    let nextDelimiter = -1;

    let i = 0;
    while (i < n) {
      // Fast paths: jump with indexOf to the next byte that can change the state. Outside quotes that
      // is a line break or a quote (delimiters in between are only counted); inside quotes it is the
      // next quote (line breaks in between only advance the line number).
      if (!afterCr && !quotePending) {
        if (nextQuote < i) {
          nextQuote = text.indexOf(quoteChar, i);
          if (nextQuote === -1) nextQuote = n;
        }
        if (nextLf < i) {
          nextLf = text.indexOf('\n', i);
          if (nextLf === -1) nextLf = n;
        }
        if (!inQuotes) {
          if (nextCr < i) {
            nextCr = text.indexOf('\r', i);
            if (nextCr === -1) nextCr = n;
          }
          const stop = nextLf < nextCr ? (nextLf < nextQuote ? nextLf : nextQuote) : nextCr < nextQuote ? nextCr : nextQuote;
          if (stop > i) {
            if (nextDelimiter < i) {
              nextDelimiter = text.indexOf(delimiterChar, i);
              if (nextDelimiter === -1) nextDelimiter = n;
            }
            while (nextDelimiter < stop) {
              delimiters++;
              nextDelimiter = text.indexOf(delimiterChar, nextDelimiter + 1);
              if (nextDelimiter === -1) nextDelimiter = n;
            }
            atFieldStart = buf[stop - 1] === delimiter;
            i = stop;
            if (i >= n) break;
          }
        } else if (nextQuote > i) {
          while (nextLf < nextQuote) {
            line++;
            nextLf = text.indexOf('\n', nextLf + 1);
            if (nextLf === -1) nextLf = n;
          }
          i = nextQuote;
          if (i >= n) break;
        }
      }

      // Slow path: one byte through the state machine.
      const c = buf[i++];
      if (afterCr) {
        afterCr = false;
        if (c === LF) {
          recordStart = i;
          continue;
        }
      }
      if (inQuotes) {
        if (!quotePending) {
          if (c === quote) quotePending = true;
          else if (c === LF) line++;
          continue;
        }
        quotePending = false;
        if (c === quote) continue; // "" is a quote inside the field
        inQuotes = false; // the previous quote closed the field; this byte is read as unquoted text
      }
      if (c === delimiter) {
        delimiters++;
        atFieldStart = true;
      } else if (c === LF || c === CR) {
        this.#delimiters = delimiters;
        this.#emit(buf, asciiText, recordStart, i - 1);
        delimiters = 0;
        atFieldStart = true;
        line++;
        this.#recordStartLine = line;
        afterCr = c === CR;
        recordStart = i;
      } else if (c === quote && atFieldStart) {
        inQuotes = true;
        atFieldStart = false;
        this.#quoteOpenLine = line;
      } else {
        atFieldStart = false;
      }
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
    }
    this.#inQuotes = inQuotes;
    this.#quotePending = quotePending;
    this.#atFieldStart = atFieldStart;
    this.#afterCr = afterCr;
    this.#delimiters = delimiters;
    this.#line = line;
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
