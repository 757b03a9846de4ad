// Blob URLs from events are untrusted input: only URLs on an allow-listed storage account, in a shape
// Azure Storage really serves, are accepted — so an event can never make batchpilot read from, or hand
// Azure ML, an arbitrary host or a blob outside the container it names.
//
// The path is taken from the raw text and checked after decoding: a WHATWG URL parser would already have
// resolved `..` (and `%2E%2E`) and turned `\` into `/`, hiding exactly what must be refused. A blob name
// may contain '/', so `dir%2Ffile.csv` and `dir/file.csv` are the same blob; what the decoded name may not
// hold is an empty, `.` or `..` segment, a backslash or a control character. Host names are
// case-insensitive (DNS), so `ACCT.DFS.core.windows.net` is normalised, not refused.
//
// Every accepted URL is handed on rebuilt from its parsed parts, in one canonical form: lower-case scheme
// and host, the blob endpoint (never dfs), each name segment percent-encoded as the Storage SDK encodes
// blob names. So every spelling of one blob version gives one run ID, one ledger key and one Azure ML input.
import { clip } from './untrustedText';

export interface BlobLocation {
  account: string;
  container: string;
  /** The blob's name inside the container, decoded, without a leading slash. */
  blobPath: string;
  /** The canonical URL of the blob. */
  url: string;
  /** The canonical URL of its container (no trailing slash). */
  containerUrl: string;
}

export class BlobUrlError extends Error {
  constructor(readonly url: string, reason: string) {
    super(`Blob URL '${clip(url)}' refused: ${reason}`);
    this.name = 'BlobUrlError';
  }
}

const AZURE_STORAGE_HOST = /^([a-z0-9]{3,24})\.(blob|dfs)\.(core\.windows\.net|core\.chinacloudapi\.cn|core\.usgovcloudapi\.net)$/;
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const CONTAINER_NAME = /^(?:\$root|\$web|\$logs|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$/;
// eslint-disable-next-line no-control-regex -- control characters are what this pattern is for
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
/** Azure Storage's limit on a blob name. */
export const MAX_BLOB_NAME_CHARS = 1024;
const MAX_URL_CHARS = 4096;

/** Why a decoded blob name is not one batchpilot accepts, or undefined when it is. */
export function blobNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the blob name is empty';
  if (name.length > MAX_BLOB_NAME_CHARS) return `the blob name is longer than ${MAX_BLOB_NAME_CHARS} characters`;
  for (const segment of name.split('/')) {
    if (segment === '') return 'the blob name has an empty segment (// or a leading or trailing /)';
    if (segment === '.' || segment === '..') return `the blob name has a ${segment} segment`;
    if (segment.includes('\\')) return 'the blob name has a backslash';
    if (CONTROL_CHARACTER.test(segment)) return 'the blob name has a control character';
  }
  return undefined;
}

/** A blob name as the Storage SDK puts it in a URL: each segment percent-encoded (`'` too), '/' kept. */
export function encodeBlobName(name: string): string {
  return name
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/'/g, '%27'))
    .join('/');
}

function decodeSegment(raw: string, segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BlobUrlError(raw, 'its path is not valid percent-encoding');
  }
}

/**
 * Parses a blob URL. `pathStyleOrigins` are origins (e.g. Azurite's `http://127.0.0.1:10000`) where
 * the account is the first path segment; anywhere else only `<account>.blob.core.windows.net` (and the
 * dfs endpoint and the sovereign-cloud equivalents) is accepted.
 */
export function parseBlobUrl(raw: string, pathStyleOrigins: readonly string[] = []): BlobLocation {
  if (typeof raw !== 'string' || raw.length === 0) throw new BlobUrlError(String(raw), 'it is empty');
  if (raw.length > MAX_URL_CHARS) throw new BlobUrlError(raw, `it is longer than ${MAX_URL_CHARS} characters`);
  if (CONTROL_CHARACTER.test(raw)) throw new BlobUrlError(raw, 'it has a control character (tab, newline or other)');
  if (raw.includes('\\')) throw new BlobUrlError(raw, 'it has a backslash');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BlobUrlError(raw, 'it is not a URL');
  }
  if (url.username || url.password) throw new BlobUrlError(raw, 'it carries credentials');
  if (url.search || url.hash || /[?#]/.test(raw)) throw new BlobUrlError(raw, 'it has a query or fragment (SAS tokens are not accepted)');
  // The path exactly as sent: after `scheme://authority`, before nothing (query and fragment are refused).
  const rawPath = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*(\/.*)?$/.exec(raw)?.[1] ?? '';
  const segments = rawPath.split('/').slice(1);

  let account: string;
  let origin: string;
  const azure = AZURE_STORAGE_HOST.exec(url.hostname);
  if (azure) {
    if (url.protocol !== 'https:') throw new BlobUrlError(raw, 'Azure Storage URLs must use https');
    if (url.port) throw new BlobUrlError(raw, 'Azure Storage URLs take no port');
    account = azure[1];
    origin = `https://${account}.blob.${azure[3]}`;
  } else if (pathStyleOrigins.some((o) => o.toLowerCase().replace(/\/+$/, '') === url.origin)) {
    account = decodeSegment(raw, segments.shift() ?? '');
    if (!ACCOUNT_NAME.test(account)) throw new BlobUrlError(raw, `'${clip(account)}' is not a storage account name (3-24 lower-case letters and digits)`);
    origin = `${url.origin}/${account}`;
  } else {
    throw new BlobUrlError(raw, `host '${clip(url.host)}' is not an Azure Storage blob endpoint nor the configured storage endpoint`);
  }

  const [rawContainer, ...nameSegments] = segments;
  if (!rawContainer || nameSegments.length === 0) throw new BlobUrlError(raw, 'it does not name an account, a container and a blob');
  const container = decodeSegment(raw, rawContainer).toLowerCase();
  if (!CONTAINER_NAME.test(container)) throw new BlobUrlError(raw, `'${clip(container)}' is not a container name (lower-case letters, digits and hyphens)`);
  const blobPath = nameSegments.map((s) => decodeSegment(raw, s)).join('/');
  const problem = blobNameProblem(blobPath);
  if (problem) throw new BlobUrlError(raw, problem);
  const containerUrl = `${origin}/${encodeURIComponent(container)}`;
  return { account, container, blobPath, url: `${containerUrl}/${encodeBlobName(blobPath)}`, containerUrl };
}

/** The canonical URL of another blob in the same container as `like`. */
export function siblingBlobUrl(like: BlobLocation, blobPath: string): string {
  return `${like.containerUrl}/${encodeBlobName(blobPath)}`;
}
