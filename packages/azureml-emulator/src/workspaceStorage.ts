// Where the Azure ML emulator's data lives: datastores are containers in Azurite, and every way a job
// or an asset can name data (azureml://datastores/<ds>/paths/<p>, long-form datastore and data asset
// IDs, `azureml:name:version`, https blob URLs on the storage account, Azurite's path-style URLs) is
// resolved here to a container and a path, then listed, read or written with the real Storage client.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { userError } from './armErrors';

export interface BlobLocation {
  datastore?: string;
  container: string;
  /** Path inside the container, without a leading slash; '' is the container's root. */
  path: string;
}

/** What resolving names needs to know about the workspace: its datastores and data assets. */
export interface DataAssetLookup {
  datastoreContainer(datastoreName: string): string | undefined;
  /** The data asset's `dataUri` for a version, or for the latest version when `version` is undefined. */
  dataAssetUri(name: string, version: string | undefined): string | undefined;
}

const DATASTORE_PATH = /^azureml:\/\/(?:subscriptions\/[^/]+\/resourcegroups\/[^/]+\/(?:providers\/microsoft\.machinelearningservices\/)?workspaces\/[^/]+\/)?datastores\/([^/]+)\/paths\/?(.*)$/i;
const DATASTORE_ARM_PATH = /^(?:azureml:)?\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.machinelearningservices\/workspaces\/[^/]+\/datastores\/([^/]+)\/paths\/?(.*)$/i;
const DATA_ASSET_ARM_ID = /^(?:azureml:)?\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.machinelearningservices\/workspaces\/[^/]+\/data\/([^/]+)\/versions\/([^/]+)$/i;
const DATA_ASSET_LOCATION_ID = /^azureml:\/\/locations\/[^/]+\/workspaces\/[^/]+\/data\/([^/]+)\/versions\/([^/]+)$/i;
const DATA_ASSET_SHORT = /^azureml:([A-Za-z0-9_.-]+)(?::([A-Za-z0-9_.-]+)|@latest)?$/;

export class WorkspaceStorage {
  readonly service: BlobServiceClient;
  readonly accountName: string;
  readonly #blobHost: string;

  constructor(storageConnectionString: string) {
    this.service = BlobServiceClient.fromConnectionString(storageConnectionString);
    this.accountName = this.service.accountName;
    this.#blobHost = new URL(this.service.url).host;
  }

  container(name: string): ContainerClient {
    return this.service.getContainerClient(name);
  }

  /** An https URL for a location as Azure names it (`<account>.blob.core.windows.net`), for display. */
  blobUrl(location: BlobLocation): string {
    return `${this.service.url.replace(/\/+$/, '')}/${location.container}/${location.path}`;
  }

  /**
   * Resolves a data reference to a blob location. `what` names the reference in error messages
   * (e.g. "input 'churn_data'"). Throws a 400 UserError for forms or names that do not resolve.
   */
  resolve(uri: string, lookup: DataAssetLookup, what: string, depth = 0): BlobLocation {
    const trimmed = uri.trim();
    let m = DATASTORE_PATH.exec(trimmed) ?? DATASTORE_ARM_PATH.exec(trimmed);
    if (m) return this.#onDatastore(m[1], decodeURIComponent(m[2]), lookup, what);
    m = DATA_ASSET_ARM_ID.exec(trimmed) ?? DATA_ASSET_LOCATION_ID.exec(trimmed) ?? DATA_ASSET_SHORT.exec(trimmed);
    if (m) {
      const [, name, version] = m;
      const dataUri = lookup.dataAssetUri(name, version);
      if (!dataUri) {
        throw userError(`The data asset '${name}${version ? `:${version}` : ''}' named by ${what} does not exist in this workspace. Register it first or check its name and version.`, undefined, 404);
      }
      if (depth > 2) throw userError(`The data asset '${name}' named by ${what} refers to another data asset too deeply.`);
      return this.resolve(dataUri, lookup, what, depth + 1);
    }
    if (/^https?:\/\//i.test(trimmed)) return this.#onUrl(new URL(trimmed), what);
    throw userError(
      `${capitalize(what)} has the unsupported path '${uri}'. Use azureml://datastores/<datastore>/paths/<path>, ` +
        `a data asset (azureml:<name>:<version>) or an https URL of a blob on the storage account.`,
    );
  }

  #onDatastore(datastore: string, blobPath: string, lookup: DataAssetLookup, what: string): BlobLocation {
    const container = lookup.datastoreContainer(datastore);
    if (!container) throw userError(`The datastore '${datastore}' named by ${what} does not exist in this workspace.`, undefined, 404);
    return { datastore, container, path: blobPath.replace(/^\/+/, '') };
  }

  #onUrl(url: URL, what: string): BlobLocation {
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const virtualHostAccount = /^([a-z0-9]+)\.blob\.core\.windows\.net$/i.exec(url.hostname)?.[1];
    if (virtualHostAccount) {
      if (virtualHostAccount.toLowerCase() !== this.accountName.toLowerCase()) {
        throw userError(`${capitalize(what)} is on the storage account '${virtualHostAccount}', which this workspace cannot reach (only '${this.accountName}' is available locally).`);
      }
      if (segments.length < 1) throw userError(`${capitalize(what)} has no container in its URL '${url.href}'.`);
      return { container: segments[0], path: segments.slice(1).join('/') };
    }
    // Path-style URLs (Azurite, and the same account behind any local host name): /<account>/<container>/<path>.
    if (segments[0]?.toLowerCase() === this.accountName.toLowerCase() && segments.length >= 2) {
      return { container: segments[1], path: segments.slice(2).join('/') };
    }
    throw userError(
      `${capitalize(what)} has the URL '${url.href}', which is not a blob on the storage account '${this.accountName}' (${this.#blobHost}).`,
    );
  }

  async fileExists(location: BlobLocation): Promise<boolean> {
    if (!location.path || location.path.endsWith('/')) return false;
    try {
      return await this.container(location.container).getBlobClient(location.path).exists();
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Blob names under a folder, sorted so mini-batches are the same on every run. */
  async listFolder(location: BlobLocation, limit = Number.POSITIVE_INFINITY): Promise<string[]> {
    const prefix = location.path === '' || location.path.endsWith('/') ? location.path : `${location.path}/`;
    const names: string[] = [];
    try {
      for await (const blob of this.container(location.container).listBlobsFlat({ prefix })) {
        names.push(blob.name);
        if (names.length >= limit) break;
      }
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
    return names.sort();
  }

  async download(container: string, blobName: string, localPath: string): Promise<void> {
    await fs.promises.mkdir(path.dirname(localPath), { recursive: true });
    await this.container(container).getBlobClient(blobName).downloadToFile(localPath);
  }

  async readText(container: string, blobName: string): Promise<string> {
    const buffer = await this.container(container).getBlobClient(blobName).downloadToBuffer();
    return buffer.toString('utf8');
  }

  /** Copies a folder (or a single file) to a local directory, keeping relative paths. */
  async downloadTree(location: BlobLocation, localDir: string): Promise<string[]> {
    if (await this.fileExists(location)) {
      const target = path.join(localDir, path.posix.basename(location.path));
      await this.download(location.container, location.path, target);
      return [target];
    }
    const names = await this.listFolder(location);
    const prefix = location.path === '' || location.path.endsWith('/') ? location.path : `${location.path}/`;
    const written: string[] = [];
    for (const name of names) {
      const target = path.join(localDir, ...name.slice(prefix.length).split('/'));
      await this.download(location.container, name, target);
      written.push(target);
    }
    return written;
  }

  async upload(container: string, blobName: string, content: string | Buffer, contentType = 'application/octet-stream'): Promise<void> {
    const client = this.container(container);
    await client.createIfNotExists();
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    await client.getBlockBlobClient(blobName).upload(data, data.length, { blobHTTPHeaders: { blobContentType: contentType } });
  }

  async ensureContainer(container: string): Promise<void> {
    await this.container(container).createIfNotExists();
  }
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { statusCode?: number }).statusCode === 404;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
