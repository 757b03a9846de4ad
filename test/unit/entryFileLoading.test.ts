// Cold start: registering the functions loads the entry files and what they import, so they import
// what registration needs (names, the SDKs' registration calls) and leave the handlers' code, with the
// schema, storage and Azure SDK libraries it uses, to the first invocation (bench: "cold start").
import * as fs from 'node:fs';
import * as path from 'node:path';

const FUNCTIONS = path.join(__dirname, '..', '..', 'functions');
/** Libraries no entry file may load while registering: each is loaded by the handlers that use it. */
const LOADED_BY_HANDLERS = ['zod', 'yaml', 'ajv', '@azure/data-tables', '@azure/storage-blob', '@azure/arm-machinelearning', '@azure/identity', '@azure/eventgrid', '@azure/monitor-opentelemetry'];

describe('the entry files', () => {
  it('register every function without loading the schema, storage or Azure SDK libraries', () => {
    const files = fs.readdirSync(FUNCTIONS).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(15);
    // Outside the Functions runtime, @azure/functions says (on the console) that it runs in test mode.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      jest.isolateModules(() => {
        for (const name of LOADED_BY_HANDLERS) {
          jest.doMock(name, () => {
            throw new Error(`${name} was loaded while the entry files registered the functions`);
          });
        }
        for (const file of files) require(path.join(FUNCTIONS, file));
      });
    } finally {
      warn.mockRestore();
    }
  });
});
