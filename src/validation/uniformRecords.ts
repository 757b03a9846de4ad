// The CSV scanner's fast path: counting the plain rows of a chunk (exactly the expected delimiters, no
// quote, no lone CR) without visiting every byte from JavaScript. Over a gigabyte of predictions this
// loop is nearly all the work validation does, so it runs in WebAssembly, sixty-four or sixteen bytes
// at a time (uniformRecords.wat). The chunk is copied into the module's memory a window at a time.
import { UNIFORM_RECORDS_WASM } from './uniformRecordsWasm';

/** Bytes copied into the module per call; its memory (5 pages of 64 KiB) holds one window. */
const WINDOW = 256 * 1024;

/** What this module uses of the WebAssembly JavaScript API (the compiler's Node types do not declare it). */
interface WasmGlobal {
  readonly value: number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmApi };

interface UniformRecordsModule {
  memory: Uint8Array;
  count: (start: number, n: number, delimiter: number, quote: number, delimiters: number) => number;
  end: WasmGlobal;
  exhausted: WasmGlobal;
}

let loaded: UniformRecordsModule | undefined;

/** Compiled on first use (a few hundred bytes: well under a millisecond), so importing the scanner costs nothing. */
function load(): UniformRecordsModule {
  if (!loaded) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(UNIFORM_RECORDS_WASM, 'base64')));
    const exports = instance.exports as { memory: { buffer: ArrayBuffer }; uniformRecords: UniformRecordsModule['count']; end: WasmGlobal; exhausted: WasmGlobal };
    // The memory never grows, so one view of it stays valid.
    loaded = { memory: new Uint8Array(exports.memory.buffer), count: exports.uniformRecords, end: exports.end, exhausted: exports.exhausted };
    if (loaded.memory.length < WINDOW) throw new Error(`uniformRecords.wat declares ${loaded.memory.length} bytes of memory; the window needs ${WINDOW}.`);
  }
  return loaded;
}

/** Where the last countUniformRecords call stopped: the start of the first record it did not count. */
export let uniformEnd = 0;

/**
 * Counts the records from `start` (a record's start) to `n` that hold exactly `delimiters` delimiters, no
 * quote, and end in LF or CRLF inside buf[start, n); stops at the first other one, or at a record the
 * data does not finish, whose start it leaves in `uniformEnd`.
 */
export function countUniformRecords(buf: Uint8Array, start: number, n: number, delimiter: number, quote: number, delimiters: number): number {
  const wasm = load();
  let count = 0;
  let at = start;
  while (at < n) {
    const length = Math.min(n - at, WINDOW);
    wasm.memory.set(buf.subarray(at, at + length), 0);
    count += wasm.count(0, length, delimiter, quote, delimiters);
    const stoppedAt = at + wasm.end.value;
    // Go on into the next window only when this one ran out mid-record after counting something.
    const goOn = wasm.exhausted.value === 1 && at + length < n && stoppedAt > at;
    at = stoppedAt;
    if (!goOn) break;
  }
  uniformEnd = at;
  return count;
}
