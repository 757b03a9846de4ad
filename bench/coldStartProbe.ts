// Child-process probe for the cold-start benchmark: provides @azure/functions-core as the worker does,
// requires the given entry files, and prints how long loading took; with COLD_START_RUN_APP_START=1 it
// then runs the app's appStart hooks (batchpilot checks its settings and routes there) and prints the
// time to that point too.
import * as path from 'node:path';
import { installFunctionsCore } from '@batchpilot/local-host';

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const registry = installFunctionsCore();
  const files = process.argv.slice(2);
  for (const file of files) require(file);
  const elapsedInMs = Number(process.hrtime.bigint() - started) / 1e6;
  let withAppStartInMs: number | undefined;
  if (process.env.COLD_START_RUN_APP_START === '1') {
    const functionAppDirectory = path.resolve(path.dirname(files[0] ?? '.'), '..', '..');
    for (const hook of registry.hooks.appStart) await hook({ hookData: {}, appHookData: registry.appHookData, functionAppDirectory });
    withAppStartInMs = Number(process.hrtime.bigint() - started) / 1e6;
  }
  process.stdout.write(JSON.stringify({ elapsedInMs, withAppStartInMs }) + '\n');
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
