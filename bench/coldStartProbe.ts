// Child-process probe for the cold-start benchmark: provides @azure/functions-core as the worker does,
// requires the given entry files, and prints how long loading took.
import { installFunctionsCore } from '../src/local/host/functionsCore';

const started = process.hrtime.bigint();
installFunctionsCore();
for (const file of process.argv.slice(2)) require(file);
const elapsedInMs = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(JSON.stringify({ elapsedInMs }) + '\n');
