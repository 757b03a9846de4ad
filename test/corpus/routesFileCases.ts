// Broken and hostile routes files, as data: the file's text (and the app settings its placeholders may
// name), and the problem the loader must report — naming the route and field — instead of starting.
// Cases marked `startup` are also given to the real host, which must refuse to start with that message.

export interface RoutesFileCase {
  name: string;
  /** The file name decides the parser (.json: JSON, anything else: YAML). */
  file?: string;
  text: string;
  settings?: Record<string, string>;
  expect: { error: RegExp };
  /** Also start the host with this file: it must exit with the error on stderr. */
  startup?: boolean;
}

const route = (name: string, extra = ''): string =>
  `  - name: ${name}\n    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: ${name}/${extra} }\n    target: { endpoint: churn-scoring }\n`;
const modelRoute = (name: string): string =>
  `  - name: ${name}\n    trigger: { modelName: churn }\n    target: { endpoint: churn-scoring }\n    validationData: { type: data_asset, asset: "azureml:churn-sample:1" }\n`;

/** `depth` levels of YAML aliases, each naming the one below nine times: 9^depth nodes if expanded. */
function aliasBomb(depth: number): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= depth; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\nroutes: []\n`;
}

export const ROUTES_FILE_CASES: RoutesFileCase[] = [
  // ---- not YAML or JSON --------------------------------------------------------------------------
  { name: 'an unclosed flow mapping', text: `routes:\n  - name: a\n    trigger: { storageAccounts: [x\n`, expect: { error: /not valid YAML/ } },
  { name: 'a tab in the indentation', text: `routes:\n\t- name: daily\n`, expect: { error: /not valid YAML/ } },
  { name: 'a key given twice', text: `routes:\n${route('daily')}    name: other\n`, expect: { error: /not valid YAML: Map keys must be unique/ } },
  { name: 'an alias bomb', text: aliasBomb(8), expect: { error: /not valid YAML: Excessive alias count/ } },
  { name: 'JSON with a trailing comma', file: 'routes.json', text: '{ "routes": [], }', expect: { error: /not valid JSON/ } },
  { name: 'an empty file', text: '', expect: { error: /must be a mapping with a `routes` list/ } },
  { name: 'a scalar', text: 'just text\n', expect: { error: /must be a mapping with a `routes` list/ } },
  { name: 'a list at the top', text: `${route('daily')}`, expect: { error: /expected object/ } },

  // ---- unknown and wrongly typed fields ----------------------------------------------------------
  { name: 'an unknown top-level field', text: `routes: []\nroute: []\n`, expect: { error: /field.*Unrecognized key.*"route"|Unrecognized key: "route"/ } },
  { name: 'an unknown trigger field', text: `routes:\n${route('daily', ', pathGlobs: "*.csv"')}`, expect: { error: /route 'daily', field trigger: Unrecognized key: "pathGlobs"/ } },
  { name: 'an unknown batching mode', text: `routes:\n${route('daily')}    batching: { mode: hourly }\n`, expect: { error: /route 'daily', field batching\.mode/ } },
  { name: 'routes as a mapping', text: `routes: { daily: {} }\n`, expect: { error: /field routes: .*expected array/ } },
  { name: 'a route name with capitals and spaces', text: `routes:\n${route('Daily Scores')}`, expect: { error: /route 'Daily Scores', field name: must be 3-40 lower-case letters/ } },
  { name: 'a __proto__ key in a route', text: `routes:\n${route('daily')}    __proto__: { polluted: true }\n`, expect: { error: /route 'daily': Unrecognized key: "__proto__"/ } },
  { name: 'a constructor key at the top', text: `constructor: { prototype: { polluted: true } }\nroutes: []\n`, expect: { error: /Unrecognized key: "constructor"/ } },

  // ---- globs -------------------------------------------------------------------------------------
  { name: 'a glob whose brace never closes', text: `routes:\n${route('daily', ', pathGlob: "**/*.{csv,tsv"')}`, expect: { error: /route 'daily', field trigger\.pathGlob: glob '\*\*\/\*\.\{csv,tsv' is invalid: '\{' at position 5 is never closed/ }, startup: true },
  { name: 'a glob closing a brace it never opened', text: `routes:\n${route('daily', ', pathGlob: "*.csv}"')}`, expect: { error: /field trigger\.pathGlob: .*closes no '\{'/ } },
  { name: 'a broken ignore pattern', text: `routes:\n${route('daily', ', ignore: ["**/_tmp*", "{a,b"]')}`, expect: { error: /route 'daily', field trigger\.ignore\.1: glob '\{a,b' is invalid/ } },
  { name: 'an empty glob', text: `routes:\n${route('daily', ', pathGlob: ""')}`, expect: { error: /route 'daily', field trigger\.pathGlob/ } },
  { name: 'a model name glob with a slash', text: `modelRoutes:\n  - name: models\n    trigger: { modelName: "../churn" }\n    target: { endpoint: churn-scoring }\n    validationData: { type: data_asset, asset: "azureml:churn-sample:1" }\n`, expect: { error: /model route 'models', field trigger\.modelName: must be a model name or a glob/ } },

  // ---- ${SETTING} placeholders -------------------------------------------------------------------
  { name: 'a placeholder naming no setting', text: `routes:\n${route('daily')}    events: { topicEndpoint: "\${NOT_A_SETTING_ANYWHERE}" }\n`, expect: { error: /placeholder \$\{NOT_A_SETTING_ANYWHERE\} names a setting that is not defined/ } },
  { name: 'a setting whose value is YAML stays a value', text: `routes:\n  - name: daily\n    trigger: { storageAccounts: [devstoreaccount1], container: "\${CORPUS_CONTAINER}" }\n    target: { endpoint: churn-scoring }\n`, settings: { CORPUS_CONTAINER: 'input\n    pathGlob: "*"' }, expect: { error: /route 'daily', field trigger\.container: must be a container name/ } },
  { name: 'a setting whose value names another placeholder', text: `routes:\n${route('daily')}    description: "\${CORPUS_DESCRIPTION}"\n    events: { topicEndpoint: "\${CORPUS_TOPIC}" }\n`, settings: { CORPUS_DESCRIPTION: '${CORPUS_TOPIC}', CORPUS_TOPIC: 'not a url' }, expect: { error: /route 'daily', field events\.topicEndpoint/ } },

  // ---- names that collide ------------------------------------------------------------------------
  { name: 'two routes of one name', text: `routes:\n${route('daily')}${route('daily')}`, expect: { error: /route 'daily', field name: route name 'daily' is used twice/ }, startup: true },
  { name: 'a route and a model route of one name', text: `routes:\n${route('churn')}modelRoutes:\n${modelRoute('churn')}`, expect: { error: /model route 'churn', field name: route name 'churn' is used twice/ } },

  // ---- limits ------------------------------------------------------------------------------------
  { name: 'a manifest limit over 16 MiB', text: `routes:\n${route('daily')}    batching: { mode: marker, manifest: true, maxManifestSizeInBytes: 1073741824 }\n`, expect: { error: /route 'daily', field batching\.maxManifestSizeInBytes/ } },
  { name: 'an output path without {runId}', text: `routes:\n  - name: daily\n    trigger: { storageAccounts: [devstoreaccount1], container: input }\n    target: { endpoint: churn-scoring, outputPath: "shared/{date}" }\n`, expect: { error: /route 'daily', field target\.outputPath: must contain \{runId\}/ } },
];
