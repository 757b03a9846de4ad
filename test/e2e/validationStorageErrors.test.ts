// Storage trouble while validating is thrown, classified for the activity's retry policy: throttling,
// server errors and broken connections are transient; a refused permission is permanent. (A missing
// output is not an error at all: it is a validation failure, covered with Azurite.) A loopback server
// plays the storage account here, because Azurite cannot be asked to fail.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AnonymousCredential, ContainerClient } from '@azure/storage-blob';
import { PermanentError, TransientError } from '../../src/azure/errorClassification';
import { validateJobOutputs } from '../../src/validation';

type Behaviour = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let server: http.Server;
let behaviour: Behaviour = (_req, res) => res.end();
let requests = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests++;
    behaviour(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function container(): ContainerClient {
  const { port } = server.address() as AddressInfo;
  // One try per request: the SDK's own retries are not what these tests are about.
  return new ContainerClient(`http://127.0.0.1:${port}/devstoreaccount1/outputs`, new AnonymousCredential(), { retryOptions: { maxTries: 1 } });
}

function storageError(status: number, code: string, extraHeaders: Record<string, string> = {}): Behaviour {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': code, ...extraHeaders });
    res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${code} from the test server.</Message></Error>`);
  };
}

/** Serves one blob with range support; the first response breaks off after `breakAfter` bytes. */
function flakyBlob(content: Buffer, breakAfter: number): Behaviour {
  let broken = false;
  return (req, res) => {
    const range = /bytes=(\d+)-(\d*)/.exec(String(req.headers['x-ms-range'] ?? req.headers.range ?? ''));
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] ? Number(range[2]) : content.length - 1;
    const headers = { 'content-type': 'text/csv', etag: '"0x1"', 'last-modified': new Date(0).toUTCString(), 'accept-ranges': 'bytes' };
    if (req.headers['if-match'] && req.headers['if-match'] !== '"0x1"') {
      res.writeHead(412, { 'x-ms-error-code': 'ConditionNotMet' });
      res.end();
      return;
    }
    const body = content.subarray(start, end + 1);
    res.writeHead(range ? 206 : 200, { ...headers, 'content-length': String(body.length), ...(range ? { 'content-range': `bytes ${start}-${end}/${content.length}` } : {}) });
    if (!broken) {
      broken = true;
      res.write(body.subarray(0, breakAfter));
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    }
    res.end(body);
  };
}

describe('validateJobOutputs on failing storage', () => {
  it('resumes a download that breaks off and validates the whole file', async () => {
    let rows = '';
    for (let i = 1; i <= 5000; i++) rows += `${i},0.${i % 10},"file ${i}.csv"\n`;
    behaviour = flakyBlob(Buffer.from(rows), 20000);
    requests = 0;
    const report = await validateJobOutputs({ outputs: { container: container(), prefix: 'runs/r1' }, rules: { predictions: { columnCount: 3 } } });
    expect(report.passed).toBe(true);
    expect(report.counts).toMatchObject({ predictionRows: 5000, bytesRead: rows.length });
    expect(requests).toBe(2);
  });

  it('throws a TransientError when storage is busy, keeping its Retry-After', async () => {
    behaviour = storageError(503, 'ServerBusy', { 'retry-after': '7' });
    const error = await validateJobOutputs({ outputs: { container: container(), prefix: 'runs/r1' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).message).toMatch(/reading blob 'runs\/r1\/predictions\.csv' in container 'outputs' failed \(503/);
    expect((error as TransientError).details).toMatchObject({ statusCode: 503, retryAfterInMs: 7000 });
  });

  it('throws a TransientError when throttled', async () => {
    behaviour = storageError(429, 'TooManyRequests');
    await expect(validateJobOutputs({ outputs: { container: container(), prefix: 'runs/r1' } })).rejects.toBeInstanceOf(TransientError);
  });

  it('throws a PermanentError when the identity may not read the container', async () => {
    behaviour = storageError(403, 'AuthorizationPermissionMismatch');
    const error = await validateJobOutputs({ outputs: { container: container(), prefix: 'runs/r1' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).message).toMatch(/predictions\.csv.*403/);
  });

  it('throws a TransientError when the connection breaks in the middle of a download', async () => {
    requests = 0;
    behaviour = (_req, res) => {
      res.writeHead(200, { 'content-length': '100000', 'content-type': 'text/csv', etag: '"0x1"', 'last-modified': new Date(0).toUTCString() });
      res.write('1,0.5,a\n2,0.5,b\n');
      setTimeout(() => res.socket?.destroy(), 5);
    };
    const error = await validateJobOutputs({ outputs: { container: container(), prefix: 'runs/r1' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    // The SDK resumed the body a few times before giving up.
    expect(requests).toBeGreaterThan(1);
  });
});
