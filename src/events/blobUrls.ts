// Blob URLs from events are untrusted input: only URLs on an allow-listed storage account, in a shape
// Azure Storage really serves, are accepted — so an event can never make batchpilot read from, or hand
// Azure ML, an arbitrary host.

export interface BlobLocation {
  account: string;
  container: string;
  /** Path inside the container, decoded, without a leading slash. */
  blobPath: string;
  /** The URL as given, normalised (dfs endpoint → blob endpoint). */
  url: string;
}

export class BlobUrlError extends Error {
  constructor(readonly url: string, reason: string) {
    super(`Blob URL '${url.length > 200 ? url.slice(0, 200) + '…' : url}' refused: ${reason}`);
    this.name = 'BlobUrlError';
  }
}

const AZURE_STORAGE_HOST = /^([a-z0-9]{3,24})\.(blob|dfs)\.(core\.windows\.net|core\.chinacloudapi\.cn|core\.usgovcloudapi\.net)$/;

/**
 * Parses a blob URL. `pathStyleOrigins` are origins (e.g. Azurite's `http://127.0.0.1:10000`) where
 * the account is the first path segment; anywhere else only `<account>.blob.core.windows.net` (and the
 * sovereign-cloud equivalents) is accepted.
 */
export function parseBlobUrl(raw: string, pathStyleOrigins: readonly string[] = []): BlobLocation {
  if (typeof raw !== 'string' || raw.length === 0) throw new BlobUrlError(String(raw), 'it is empty');
  if (raw.length > 4096) throw new BlobUrlError(raw, 'it is longer than 4096 characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BlobUrlError(raw, 'it is not a URL');
  }
  if (url.username || url.password) throw new BlobUrlError(raw, 'it carries credentials');
  if (url.search || url.hash) throw new BlobUrlError(raw, 'it has a query or fragment (SAS tokens are not accepted)');
  let account: string;
  let segments: string[];
  const host = url.hostname.toLowerCase();
  const azure = AZURE_STORAGE_HOST.exec(host);
  if (azure) {
    if (url.protocol !== 'https:') throw new BlobUrlError(raw, 'Azure Storage URLs must use https');
    if (url.port) throw new BlobUrlError(raw, 'Azure Storage URLs take no port');
    account = azure[1];
    segments = url.pathname.split('/').slice(1);
  } else if (pathStyleOrigins.map((o) => o.toLowerCase().replace(/\/+$/, '')).includes(url.origin.toLowerCase())) {
    [account, ...segments] = url.pathname.split('/').slice(1);
  } else {
    throw new BlobUrlError(raw, `host '${url.host}' is not an Azure Storage blob endpoint nor the configured storage endpoint`);
  }
  const [container, ...rest] = segments;
  if (!account || !container || rest.length === 0 || rest.some((s) => s === '')) throw new BlobUrlError(raw, 'it does not name an account, a container and a blob');
  let decoded: string[];
  try {
    decoded = rest.map((s) => decodeURIComponent(s));
  } catch {
    throw new BlobUrlError(raw, 'its path is not valid percent-encoding');
  }
  if (decoded.some((s) => s === '.' || s === '..')) throw new BlobUrlError(raw, 'its path has . or .. segments');
  const normalised = azure ? raw.replace(`.${azure[2]}.`, '.blob.') : raw;
  return { account, container: container.toLowerCase(), blobPath: decoded.join('/'), url: normalised };
}

/** The URL of a blob on the same endpoint as `like` (same account and style). */
export function siblingBlobUrl(like: BlobLocation, blobPath: string): string {
  const u = new URL(like.url);
  const encoded = blobPath.split('/').map(encodeURIComponent).join('/');
  const prefix = AZURE_STORAGE_HOST.test(u.hostname) ? '' : `/${like.account}`;
  return `${u.origin}${prefix}/${like.container}/${encoded}`;
}
