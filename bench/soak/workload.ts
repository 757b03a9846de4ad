// The soak's workload, planned up front from the seed: which logical inputs it sends (blob files on
// perFile routes, folders on window, marker and manifest routes, model versions on auto and manual
// gates), in what order, and the routes file they are sent against. Every item says what it expects
// from the app, which the checks compare with what Azure ML and storage show at the end.
import { seededRandom, SeededRandom } from '@batchpilot/local-platform';
import { generateChurnCsv, poisonCsv, CHURN_MODEL_VERSIONS } from '@batchpilot/azureml-emulator';

export const SOAK_PREFIX = 'soak';
export const EVENT_TYPE_PREFIX = 'Soak';

/** Blob routes of the soak; each reads its own folder under input/soak/. */
export const BLOB_ROUTES = {
  files: 'soak-files',
  strict: 'soak-strict',
  slow: 'soak-slow',
  window: 'soak-window',
  marker: 'soak-marker',
  manifest: 'soak-manifest',
} as const;

/** Model routes of the soak: one batch endpoint each, so promotions on one never race another's. */
export const MODEL_ROUTES = {
  auto: { route: 'soak-models-auto', modelPrefix: 'soak-auto', endpoint: 'soak-auto-ep' },
  manual: { route: 'soak-models-manual', modelPrefix: 'soak-manual', endpoint: 'soak-manual-ep' },
  lapse: { route: 'soak-models-lapse', modelPrefix: 'soak-lapse', endpoint: 'soak-lapse-ep' },
} as const;

export type ModelGate = keyof typeof MODEL_ROUTES;

export interface BlobFile {
  /** Path in the input container. */
  blobPath: string;
  content: string;
  rows: number;
  poisoned: boolean;
}

export type WorkItem =
  | { kind: 'perFile'; id: string; route: (typeof BLOB_ROUTES)['files' | 'strict' | 'slow']; file: BlobFile; overwrites?: string }
  | { kind: 'window'; id: string; route: typeof BLOB_ROUTES.window; files: BlobFile[] }
  | { kind: 'marker'; id: string; route: typeof BLOB_ROUTES.marker; files: BlobFile[]; markerPath: string }
  | { kind: 'manifest'; id: string; route: typeof BLOB_ROUTES.manifest; files: BlobFile[]; markerPath: string; manifest: string }
  | { kind: 'model'; id: string; route: string; gate: ModelGate; model: { name: string; version: string }; agrees: boolean; decision?: 'approve' | 'reject' };

export interface Workload {
  items: WorkItem[];
  routesYaml: string;
  /** Model endpoints to create before the workload starts. */
  modelEndpoints: string[];
}

const WAIT = '{ pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10, maxResubmissions: 2 }';
const COMPARE = '{ keyColumns: [0, 1], scoreColumn: 2, labelColumn: 3, minLabelAgreement: 0.98, maxMeanAbsScoreDifference: 0.01, maxMaxAbsScoreDifference: 0.05 }';

export function soakRoutesYaml(): string {
  const trigger = (folder: string): string => `{ storageAccounts: [devstoreaccount1], container: input, pathPrefix: ${SOAK_PREFIX}/${folder}/ }`;
  const model = (m: (typeof MODEL_ROUTES)[ModelGate], gate: string): string => `
  - name: ${m.route}
    trigger: { modelName: "${m.modelPrefix}-*", tags: { stage: candidate } }
    target: { endpoint: ${m.endpoint} }
    validationData: { type: data_asset, asset: "azureml:churn-sample:1" }
    wait: ${WAIT}
    comparison: ${COMPARE}
    gate: ${gate}
    events: { typePrefix: ${EVENT_TYPE_PREFIX} }`;
  return `# The soak's routes (bench/soak): every batching mode, strict validation, a timeout, and the model gates.
routes:
  - name: ${BLOB_ROUTES.files}
    trigger: ${trigger('files')}
    target: { endpoint: churn-scoring }
    wait: ${WAIT}
    validation: {}
    events: { typePrefix: ${EVENT_TYPE_PREFIX} }
  - name: ${BLOB_ROUTES.strict}
    trigger: ${trigger('strict')}
    target: { endpoint: churn-scoring, overrides: { errorThreshold: -1 } }
    wait: ${WAIT}
    validation: { rowCount: { toleranceRows: 0 } }
    events: { typePrefix: ${EVENT_TYPE_PREFIX} }
  - name: ${BLOB_ROUTES.slow}
    trigger: ${trigger('slow')}
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 2, timeoutInMinutes: 0.01, maxResubmissions: 0 }
    validation: {}
    events: { typePrefix: ${EVENT_TYPE_PREFIX} }
  - name: ${BLOB_ROUTES.window}
    trigger: ${trigger('window')}
    batching: { mode: window, quietPeriodInSeconds: 2, maxFiles: 5, maxWaitInSeconds: 30 }
    target: { endpoint: churn-scoring, overrides: { miniBatchSize: 5 } }
    wait: ${WAIT}
    validation: { rowCount: { toleranceRows: 0 } }
    events: { typePrefix: ${EVENT_TYPE_PREFIX} }
  - name: ${BLOB_ROUTES.marker}
    trigger: ${trigger('marker')}
    batching: { mode: marker, maxWaitInSeconds: 90 }
    target: { endpoint: churn-scoring }
    wait: ${WAIT}
    validation: { rowCount: { toleranceRows: 0 } }
    events: { typePrefix: ${EVENT_TYPE_PREFIX} }
  - name: ${BLOB_ROUTES.manifest}
    trigger: ${trigger('manifest')}
    batching: { mode: marker, markerName: _manifest.json, manifest: true, maxWaitInSeconds: 90 }
    target: { endpoint: churn-scoring }
    wait: ${WAIT}
    validation: { rowCount: { toleranceRows: 0 } }
    events: { typePrefix: ${EVENT_TYPE_PREFIX} }
modelRoutes:${model(MODEL_ROUTES.auto, '{ policy: auto }')}${model(MODEL_ROUTES.manual, '{ policy: manual, approvalTimeoutInMinutes: 30 }')}${model(MODEL_ROUTES.lapse, '{ policy: manual, approvalTimeoutInMinutes: 0.1, onTimeout: reject }')}
`;
}

/** Scores like the endpoints' baseline (churn:1), so the comparison passes. */
export const AGREEING_WEIGHTS = { weights: CHURN_MODEL_VERSIONS['1'].weights, bias: CHURN_MODEL_VERSIONS['1'].bias };
/** The sample's second model: its scores differ enough for the comparison to fail. */
export const DISAGREEING_WEIGHTS = { weights: CHURN_MODEL_VERSIONS['2'].weights, bias: CHURN_MODEL_VERSIONS['2'].bias };

/** Shares of the logical inputs per kind; the rest of the draw goes to perFile. */
const MIX = { window: 0.14, marker: 0.12, manifest: 0.09, model: 0.13 } as const;

function pick<T>(random: SeededRandom, items: readonly T[]): T {
  return items[Math.floor(random.next() * items.length)];
}

function intBetween(random: SeededRandom, low: number, high: number): number {
  return low + Math.floor(random.next() * (high - low + 1));
}

/** Plans `runs` logical inputs (each expected to become at least one run) from `seed`. */
export function planWorkload(runs: number, seed: number): Workload {
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`The soak needs at least one run; got ${runs}.`);
  const random = seededRandom(seed * 7919 + 17);
  const stamp = `s${seed}`;
  let fileSeed = seed * 100_000;
  const file = (blobPath: string, poisoned = false): BlobFile => {
    const rows = intBetween(random, 3, 12);
    fileSeed += 1;
    const clean = generateChurnCsv({ rows, seed: fileSeed, firstCustomerNumber: (fileSeed % 10_000) * 100 });
    return { blobPath, content: poisoned ? poisonCsv(clean) : clean, rows, poisoned };
  };
  const items: WorkItem[] = [];
  const perFilePaths: Array<{ route: (typeof BLOB_ROUTES)['files' | 'strict']; blobPath: string }> = [];
  const modelVersions: Record<ModelGate, number> = { auto: 0, manual: 0, lapse: 0 };
  for (let i = 0; i < runs; i++) {
    const id = `${stamp}-${String(i).padStart(4, '0')}`;
    const r = random.next();
    let edge = MIX.window;
    if (r < edge) {
      const folder = `${SOAK_PREFIX}/window/${id}`;
      const count = intBetween(random, 1, 5);
      items.push({ kind: 'window', id, route: BLOB_ROUTES.window, files: Array.from({ length: count }, (_, n) => file(`${folder}/part-${n}.csv`)) });
      continue;
    }
    if (r < (edge += MIX.marker)) {
      const folder = `${SOAK_PREFIX}/marker/${id}`;
      const count = intBetween(random, 1, 4);
      items.push({ kind: 'marker', id, route: BLOB_ROUTES.marker, files: Array.from({ length: count }, (_, n) => file(`${folder}/part-${n}.csv`)), markerPath: `${folder}/_SUCCESS` });
      continue;
    }
    if (r < (edge += MIX.manifest)) {
      const folder = `${SOAK_PREFIX}/manifest/${id}`;
      const count = intBetween(random, 1, 4);
      const files = Array.from({ length: count }, (_, n) => file(`${folder}/part-${n}.csv`));
      const names = files.map((f) => f.blobPath.slice(folder.length + 1));
      const manifest = random.next() < 0.5 ? JSON.stringify({ files: names }) : `# files of ${id}\n${names.join('\n')}\n`;
      items.push({ kind: 'manifest', id, route: BLOB_ROUTES.manifest, files, markerPath: `${folder}/_manifest.json`, manifest });
      continue;
    }
    if (r < (edge += MIX.model)) {
      const gate: ModelGate = pick(random, ['auto', 'auto', 'manual', 'manual', 'lapse'] as const);
      const m = MODEL_ROUTES[gate];
      modelVersions[gate] += 1;
      const agrees = gate === 'auto' ? random.next() < 0.6 : true;
      const decision = gate === 'manual' ? (random.next() < 0.5 ? 'approve' : 'reject') : undefined;
      items.push({ kind: 'model', id, route: m.route, gate, model: { name: `${m.modelPrefix}-${stamp}`, version: String(modelVersions[gate]) }, agrees, decision });
      continue;
    }
    // perFile: most clean, some poisoned on the strict route, some on the route whose runs time out,
    // and some overwriting an earlier file (a second blob version is a second run).
    const earlier = perFilePaths.length > 0 && random.next() < 0.08 ? pick(random, perFilePaths) : undefined;
    if (earlier) {
      items.push({ kind: 'perFile', id, route: earlier.route, file: file(earlier.blobPath), overwrites: earlier.blobPath });
      continue;
    }
    const which = random.next();
    if (which < 0.08) {
      items.push({ kind: 'perFile', id, route: BLOB_ROUTES.slow, file: file(`${SOAK_PREFIX}/slow/${id}.csv`) });
    } else if (which < 0.3) {
      const poisoned = random.next() < 0.5;
      const blobPath = `${SOAK_PREFIX}/strict/${id}.csv`;
      items.push({ kind: 'perFile', id, route: BLOB_ROUTES.strict, file: file(blobPath, poisoned) });
      perFilePaths.push({ route: BLOB_ROUTES.strict, blobPath });
    } else {
      const blobPath = `${SOAK_PREFIX}/files/${id}.csv`;
      items.push({ kind: 'perFile', id, route: BLOB_ROUTES.files, file: file(blobPath) });
      perFilePaths.push({ route: BLOB_ROUTES.files, blobPath });
    }
  }
  const modelEndpoints = (Object.keys(MODEL_ROUTES) as ModelGate[]).filter((g) => modelVersions[g] > 0).map((g) => MODEL_ROUTES[g].endpoint);
  return { items, routesYaml: soakRoutesYaml(), modelEndpoints };
}

/**
 * One more perFile input, sent while kills are still owed after the planned workload is out: the host
 * must be busy for a kill to land in a phase.
 */
export function fillerItem(seed: number, index: number): WorkItem {
  const id = `s${seed}-extra-${String(index).padStart(4, '0')}`;
  const rows = 3 + (index % 7);
  const content = generateChurnCsv({ rows, seed: seed * 100_000 + 90_000 + index, firstCustomerNumber: 900_000 + index * 20 });
  return { kind: 'perFile', id, route: BLOB_ROUTES.files, file: { blobPath: `${SOAK_PREFIX}/files/${id}.csv`, content, rows, poisoned: false } };
}
