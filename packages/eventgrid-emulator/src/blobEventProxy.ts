// The storage account's event source: a reverse proxy in front of Azurite's Blob service that raises
// Microsoft.Storage.BlobCreated / BlobDeleted for every blob committed or deleted through it.
//
// Why a proxy rather than polling container listings: Azure emits one event per committing operation,
// and names the operation in `data.api` (PutBlob, PutBlockList, CopyBlob...). Only the request stream
// shows which operation committed a blob — a listing cannot tell PutBlob from PutBlockList, collapses
// two quick overwrites into one change, never sees a blob created and deleted between polls, cannot
// see deletions at all without keeping a full copy of every listing, and has no clientRequestId or
// requestId to report. PutBlock / AppendBlock / PutPage stage or append data and emit nothing, as in
// Azure. The proxy streams bodies untouched (shared-key and SAS signatures stay valid) and adds no
// polling latency or listing load. The price: writes that bypass it (straight to Azurite's port) raise
// no events, so the local stack gives the app the proxy's URL as its blob endpoint.
//
// After a commit the proxy reads the blob's properties from Azurite (If-Match the committed ETag) for
// contentType, contentLength and blobType; if the blob already changed again it falls back to what the
// request said. For a delete it reads them just before forwarding. Copies that Azurite reports as
// pending are watched until they succeed, since Azure raises BlobCreated when the copy completes.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BlobServiceClient, RestError } from '@azure/storage-blob';
import type { BlobChange } from './storageEvents';

export interface BlobEventProxyOptions {
  /** Azurite's blob port and a connection string with its account key (for property reads). */
  azuriteBlobPort: number;
  azuriteConnectionString: string;
  /** The account whose blobs raise events (Azurite's devstoreaccount1). */
  accountName: string;
  port?: number;
  onChange(change: BlobChange): void;
  /** +1 when a commit is seen, -1 once its event is raised: lets the emulator report when it is idle. */
  busy(delta: number): void;
  /** The origin event URLs name (default this proxy's): where the event's consumer reaches the account. */
  eventUrlOrigin?: () => string | undefined;
}

export interface RunningBlobEventProxy {
  port: number;
  /** The account URL clients use instead of Azurite's (`http://127.0.0.1:{port}/devstoreaccount1`). */
  accountUrl: string;
  connectionString(accountKey: string): string;
  stop(): Promise<void>;
}

type BlobOperation = 'PutBlob' | 'PutBlockList' | 'CopyBlob' | 'PutBlobFromUrl' | 'DeleteBlob';

interface BlobAddress {
  account: string;
  container: string;
  blobName: string;
  /** The request path as sent (encoded), without the query. */
  rawPath: string;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Path-style addressing as Azurite parses it: /{account}/{container}/{blob...}. */
export function blobAddressOf(rawUrl: string): BlobAddress | undefined {
  const url = new URL(rawUrl, 'http://proxy.local');
  const parts = decodeURIComponent(url.pathname).replace(/^\//, '').split('/');
  if (parts.length < 3) return undefined;
  const [account, container, ...rest] = parts;
  const blobName = rest.join('/').replace(/\\/g, '/');
  if (!account || !container || !blobName) return undefined;
  return { account, container, blobName, rawPath: url.pathname };
}

/** Which committing operation a request is, if any; everything else passes through silently. */
export function classifyBlobRequest(method: string, rawUrl: string, headers: http.IncomingHttpHeaders): BlobOperation | undefined {
  const query = new URL(rawUrl, 'http://proxy.local').searchParams;
  if (query.get('restype')) return undefined;
  const comp = query.get('comp');
  if (method === 'PUT') {
    if (comp === 'blocklist') return 'PutBlockList';
    if (comp) return undefined; // block, appendblock, page, metadata, properties, tier, lease, snapshot, tags...
    if (single(headers['x-ms-copy-source'])) return single(headers['x-ms-blob-type']) ? 'PutBlobFromUrl' : 'CopyBlob';
    if (single(headers['x-ms-blob-type'])) return 'PutBlob';
    return undefined;
  }
  if (method === 'DELETE' && !comp && !query.get('snapshot') && !query.get('versionid')) return 'DeleteBlob';
  return undefined;
}

interface BlobProperties {
  eTag?: string;
  contentType?: string;
  contentLength?: number;
  blobType?: string;
  copyStatus?: string;
}

export async function startBlobEventProxy(options: BlobEventProxyOptions): Promise<RunningBlobEventProxy> {
  const service = BlobServiceClient.fromConnectionString(options.azuriteConnectionString);

  async function readProperties(address: BlobAddress, ifMatch?: string): Promise<BlobProperties | undefined> {
    try {
      const p = await service
        .getContainerClient(address.container)
        .getBlobClient(address.blobName)
        .getProperties(ifMatch ? { conditions: { ifMatch } } : {});
      return { eTag: p.etag, contentType: p.contentType, contentLength: p.contentLength, blobType: p.blobType, copyStatus: p.copyStatus };
    } catch (error) {
      if (error instanceof RestError && (error.statusCode === 404 || error.statusCode === 412)) return undefined;
      throw error;
    }
  }

  async function waitForCopy(address: BlobAddress): Promise<BlobProperties | undefined> {
    for (let i = 0; i < 600; i++) {
      const props = await readProperties(address);
      if (!props || props.copyStatus !== 'pending') return props;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return undefined;
  }

  let port = 0;
  const accountUrl = (): string => `http://127.0.0.1:${port}/${options.accountName}`;

  async function raise(operation: BlobOperation, address: BlobAddress, req: http.IncomingMessage, res: http.IncomingMessage, before?: BlobProperties): Promise<void> {
    const requestId = single(res.headers['x-ms-request-id']) ?? '';
    const clientRequestId = single(req.headers['x-ms-client-request-id']);
    const url = `${options.eventUrlOrigin?.() ?? `http://127.0.0.1:${port}`}${address.rawPath}`;
    if (operation === 'DeleteBlob') {
      options.onChange({ api: 'DeleteBlob', container: address.container, blobName: address.blobName, url, clientRequestId, requestId, ...before });
      return;
    }
    const committedETag = single(res.headers['etag']);
    let props: BlobProperties | undefined;
    if ((operation === 'CopyBlob' || operation === 'PutBlobFromUrl') && single(res.headers['x-ms-copy-status']) === 'pending') {
      props = await waitForCopy(address);
      if (!props || props.copyStatus !== 'success') return; // a failed or aborted copy creates nothing
    } else {
      props = await readProperties(address, committedETag);
    }
    const fallbackLength = operation === 'PutBlob' ? Number(single(req.headers['content-length']) ?? 0) : undefined;
    options.onChange({
      api: operation,
      container: address.container,
      blobName: address.blobName,
      url,
      clientRequestId,
      requestId,
      eTag: props?.eTag ?? committedETag,
      contentType: props?.contentType ?? single(req.headers['x-ms-blob-content-type']) ?? (operation === 'PutBlob' ? single(req.headers['content-type']) : undefined) ?? 'application/octet-stream',
      contentLength: props?.contentLength ?? fallbackLength,
      blobType: props?.blobType ?? single(req.headers['x-ms-blob-type']) ?? 'BlockBlob',
    });
  }

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const address = blobAddressOf(rawUrl);
    const operation = address && address.account === options.accountName ? classifyBlobRequest(method, rawUrl, req.headers) : undefined;

    const forward = (before?: BlobProperties): void => {
      const upstream = http.request(
        { host: '127.0.0.1', port: options.azuriteBlobPort, method, path: rawUrl, headers: { ...req.headers, host: `127.0.0.1:${options.azuriteBlobPort}` }, agent: false },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.rawHeaders);
          upstreamRes.pipe(res);
          const status = upstreamRes.statusCode ?? 0;
          if (operation && address && status >= 200 && status < 300) {
            options.busy(+1);
            upstreamRes.on('end', () => {
              raise(operation, address, req, upstreamRes, before)
                .catch((error: Error) => process.emitWarning(`Event Grid emulator: no storage event for ${rawUrl}: ${error.message}`))
                .finally(() => options.busy(-1));
            });
          }
        },
      );
      upstream.on('error', (error) => {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`Azurite is not reachable at 127.0.0.1:${options.azuriteBlobPort}: ${error.message}`);
        } else {
          res.destroy(error);
        }
      });
      req.pipe(upstream);
    };

    if (operation === 'DeleteBlob' && address) {
      // Pause the body (a DELETE has none, but keep the stream intact) while reading what is about to go.
      req.pause();
      readProperties(address)
        .catch(() => undefined)
        .then((before) => forward(before));
      return;
    }
    forward();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    port,
    accountUrl: accountUrl(),
    connectionString: (accountKey: string) =>
      `DefaultEndpointsProtocol=http;AccountName=${options.accountName};AccountKey=${accountKey};BlobEndpoint=${accountUrl()};`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
