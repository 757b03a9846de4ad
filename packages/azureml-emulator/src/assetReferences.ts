// Resolves the ways Azure ML names an asset version — an ARM ID (with or without the `azureml:`
// prefix), `azureml://locations/<region>/workspaces/<id>/<kind>/<name>/versions/<v>`, or the short
// `azureml:<name>:<version>` / `azureml:<name>@latest` — to the version stored in the workspace, and
// answers the storage layer's questions about datastores and data assets.
import type { AssetKind, AssetVersionRecord, WorkspaceStore } from './workspaceStore';
import type { DataAssetLookup } from './workspaceStorage';
import type { JsonObject } from './wireTypes';

export interface AssetLookup extends DataAssetLookup {
  /** The stored version a reference names, if any. */
  assetVersion(kind: AssetKind, reference: string): AssetVersionRecord | undefined;
  /** The version's storage URI (modelUri, codeUri, dataUri) and its properties. */
  assetUri(kind: 'models' | 'codes' | 'components', reference: string): { uri?: string; properties: JsonObject } | undefined;
}

const KIND_SEGMENT = '(models|codes|data|components)';
const ARM_ID = new RegExp(`^(?:azureml:)?/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\\.machinelearningservices/workspaces/([^/]+)/${KIND_SEGMENT}/([^/]+)/versions/([^/]+)$`, 'i');
const LOCATION_ID = new RegExp(`^azureml://locations/[^/]+/workspaces/[^/]+/${KIND_SEGMENT}/([^/]+)/versions/([^/]+)$`, 'i');
const SHORT = /^azureml:([A-Za-z0-9_.-]+)(?::([A-Za-z0-9_.-]+)|@(latest))?$/;

export interface ParsedAssetReference {
  kind?: AssetKind;
  name: string;
  /** undefined = latest */
  version?: string;
}

export function parseAssetReference(reference: string): ParsedAssetReference | undefined {
  const text = reference.trim();
  let m = ARM_ID.exec(text);
  if (m) return { kind: m[2].toLowerCase() as AssetKind, name: m[3], version: m[4] };
  m = LOCATION_ID.exec(text);
  if (m) return { kind: m[1].toLowerCase() as AssetKind, name: m[2], version: m[3] };
  m = SHORT.exec(text);
  if (m) return { name: m[1], version: m[2] };
  return undefined;
}

const URI_PROPERTY: Record<AssetKind, string> = { models: 'modelUri', codes: 'codeUri', data: 'dataUri', components: '' };

export function createAssetLookup(store: WorkspaceStore): AssetLookup {
  const assetVersion = (kind: AssetKind, reference: string): AssetVersionRecord | undefined => {
    const parsed = parseAssetReference(reference);
    if (!parsed || (parsed.kind && parsed.kind !== kind)) return undefined;
    return parsed.version ? store.getAsset(kind, parsed.name, parsed.version) : store.latestAsset(kind, parsed.name);
  };
  return {
    datastoreContainer(name) {
      const container = store.getDatastore(name)?.properties.containerName;
      return typeof container === 'string' ? container : undefined;
    },
    dataAssetUri(name, version) {
      const asset = version ? store.getAsset('data', name, version) : store.latestAsset('data', name);
      const uri = asset?.properties.dataUri;
      return typeof uri === 'string' ? uri : undefined;
    },
    assetVersion,
    assetUri(kind, reference) {
      const asset = assetVersion(kind, reference);
      if (!asset) return undefined;
      const uri = URI_PROPERTY[kind] ? asset.properties[URI_PROPERTY[kind]] : undefined;
      return { uri: typeof uri === 'string' ? uri : undefined, properties: asset.properties };
    },
  };
}
