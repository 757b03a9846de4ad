// A validation report write whose answer is lost (the connection resets after Storage stored it) is
// retried by the Storage SDK with the same conditions, and the retry finds the report it just wrote:
// that is success, not a failed run (found by the soak: "failed (412 ConditionNotMet)"). A loopback
// proxy in front of Azurite loses exactly one answer.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { validateJobOutputs, writeValidationReport, type ValidationReport } from '../../src/validation';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';

let proxy: http.Server;
let loseAnswerOf: ((req: http.IncomingMessage) => boolean) | undefined;
let lost = 0;
let direct: ContainerClient;
let viaProxy: ContainerClient;

beforeAll(async () => {
  const azurite = testAzurite();
  proxy = http.createServer((req, res) => {
    const lose = loseAnswerOf?.(req) === true;
    if (lose) loseAnswerOf = undefined;
    const upstream = http.request({ host: '127.0.0.1', port: azurite.blobPort, method: req.method, path: req.url, headers: req.headers, agent: false }, (up) => {
      if (lose) {
        lost += 1;
        up.resume();
        up.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.rawHeaders);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const name = uniqueName('reports');
  direct = service.getContainerClient(name);
  await direct.create();
  const { port } = proxy.address() as AddressInfo;
  viaProxy = new BlobServiceClient(`http://127.0.0.1:${port}/devstoreaccount1`, service.credential, { retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 50 } }).getContainerClient(name);
});

afterAll(async () => {
  await direct?.deleteIfExists();
  proxy.closeAllConnections();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
});

async function stored(blobName: string): Promise<ValidationReport> {
  return JSON.parse((await direct.getBlobClient(blobName).downloadToBuffer()).toString('utf8')) as ValidationReport;
}

describe('writeValidationReport when Storage stores the report but its answer is lost', () => {
  it('replaces its own earlier report although the retried conditional write finds the ETag changed', async () => {
    const folder = `${uniqueName('run')}/`;
    await direct.getBlockBlobClient(`${folder}predictions.csv`).upload('a,b,0.1,1\n', 10);
    const first = await validateJobOutputs({ outputs: { container: direct, prefix: folder } });
    await writeValidationReport(direct, folder, first);
    const second = { ...first, summary: 'the repeated step' };
    // The overwrite of the earlier report (If-Match its ETag) lands, then its answer is lost.
    loseAnswerOf = (req) => req.method === 'PUT' && req.headers['if-match'] !== undefined;
    const written = await writeValidationReport(viaProxy, folder, second);
    expect(lost).toBe(1);
    expect(written.blobName).toBe(`${folder}validation-report.json`);
    expect((await stored(written.blobName)).summary).toBe('the repeated step');
  });

  it('keeps the report it created when the answer to the first write is lost', async () => {
    const folder = `${uniqueName('run')}/`;
    await direct.getBlockBlobClient(`${folder}predictions.csv`).upload('a,b,0.1,1\n', 10);
    const report = await validateJobOutputs({ outputs: { container: direct, prefix: folder } });
    const before = lost;
    loseAnswerOf = (req) => req.method === 'PUT' && req.headers['if-none-match'] === '*';
    await writeValidationReport(viaProxy, folder, report);
    expect(lost).toBe(before + 1);
    expect(await stored(`${folder}validation-report.json`)).toEqual(report);
  });
});
