// Assembles uniformRecords.wat into the module uniformRecordsWasm.ts carries (`npm run build:wasm`), with
// wabt, the WebAssembly Binary Toolkit's own assembler. The bytes are kept in the source tree so the app
// needs no assembler to build or run; a test assembles the text again and checks the two agree.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findProjectRoot } from '../config/projectRoot';

const SOURCE = path.join(findProjectRoot(__dirname), 'src', 'validation', 'uniformRecords.wat');

/** The .wat source assembled to a WebAssembly binary. */
export async function assembleUniformRecords(source = fs.readFileSync(SOURCE, 'utf8')): Promise<Uint8Array> {
  // A development dependency: required here, never by the app.
  const wabt = await (require('wabt') as typeof import('wabt'))();
  const parsed = wabt.parseWat('uniformRecords.wat', source, { simd: true });
  try {
    parsed.validate();
    return parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
}

/** The text of uniformRecordsWasm.ts for these bytes. */
export function uniformRecordsModuleText(bytes: Uint8Array): string {
  const base64 = Buffer.from(bytes).toString('base64');
  const lines = base64.match(/.{1,100}/g) ?? [];
  return [
    '// Generated from uniformRecords.wat by `npm run build:wasm` (src/validation/publishUniformRecordsWasm.ts); do not edit.',
    '// The CSV scanner\'s fast path as a WebAssembly module, base64.',
    'export const UNIFORM_RECORDS_WASM =',
    ...lines.map((line, i) => `  '${line}'${i === lines.length - 1 ? ';' : ' +'}`),
    '',
  ].join('\n');
}

if (require.main === module) {
  const target = path.join(path.dirname(SOURCE), 'uniformRecordsWasm.ts');
  assembleUniformRecords()
    .then((bytes) => {
      fs.writeFileSync(target, uniformRecordsModuleText(bytes));
      process.stdout.write(`${path.relative(process.cwd(), target)}: ${bytes.length} bytes of WebAssembly\n`);
    })
    .catch((err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    });
}
