// The routes file: which blob arrivals (`routes`) and model registrations (`modelRoutes`) batchpilot
// turns into Azure ML batch scoring runs, and how. Loaded once at startup from BATCHPILOT_ROUTES_PATH
// (YAML or JSON), `${SETTING}` placeholders filled from app settings, validated with zod; every
// problem names the route and the field. `routesJsonSchema()` publishes the same schema for editors.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { validationRulesSchema } from './validationRules';
import { sloSchema } from './serviceLevelObjectives';
import { comparisonRulesSchema } from './comparisonRules';
import { globProblem } from '../domain/pathGlobs';
import { DEFAULT_EVENTS_RETRY, DEFAULT_MAX_MANIFEST_FILES, DEFAULT_MAX_MANIFEST_SIZE_IN_BYTES } from './routeDefaults';

export const DEFAULT_BLOB_APIS = ['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose'] as const;
/** Temp files and markers never become inputs (markers close partitions instead). */
export const DEFAULT_IGNORED_PATTERNS = ['**/_tmp*', '**/*.tmp', '**/~*', '**/.*', '**/_SUCCESS', '**/_manifest.json'];

const routeName = z.string().regex(/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/, 'must be 3-40 lower-case letters, digits and hyphens, starting with a letter');
const workspaceId = z
  .string()
  .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.MachineLearningServices\/workspaces\/[^/]+$/i, 'must be an Azure ML workspace resource ID');
const azureName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{1,31}$/, 'must be an Azure ML name (letters, digits, hyphens; 2-32 characters, starting with a letter)');
const positiveInt = z.number().int().positive();
/** Durations stop at a year: longer is never meant, and past ~270,000 years a Date cannot hold the deadline at all. */
const YEAR_IN_SECONDS = 365 * 24 * 3600;
const seconds = z.number().positive().max(YEAR_IN_SECONDS, `must be at most ${YEAR_IN_SECONDS} (a year)`);
const minutes = z.number().positive().max(YEAR_IN_SECONDS / 60, `must be at most ${YEAR_IN_SECONDS / 60} (a year)`);

/** Globs are compiled here, so that a broken one stops the app at start rather than failing every event. */
function compiles(g: string, ctx: z.RefinementCtx): void {
  const problem = globProblem(g);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}
const glob = z.string().min(1).superRefine(compiles);


const triggerSchema = z
  .object({
    storageAccounts: z.array(z.string().regex(/^[a-z0-9]{3,24}$/, 'must be storage account names (3-24 lower-case letters and digits)')).min(1, 'must list at least one account'),
    container: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a container name'),
    pathPrefix: z
      .string()
      .refine((p) => !p.startsWith('/'), "must not start with '/': blob paths are relative to the container")
      .default(''),
    pathGlob: glob.refine((g) => !g.startsWith('/'), "must not start with '/': it matches the blob path after pathPrefix, relative to the container").optional(),
    apis: z.array(z.string().min(1)).min(1).default([...DEFAULT_BLOB_APIS]),
    ignore: z.array(glob).default(DEFAULT_IGNORED_PATTERNS),
  })
  .strict();

const batchingSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('perFile') }).strict(),
  z
    .object({
      mode: z.literal('window'),
      partitionBy: z.enum(['folder', 'route']).default('folder'),
      quietPeriodInSeconds: seconds.default(30),
      maxFiles: positiveInt.default(1000),
      maxWaitInSeconds: seconds.default(900),
    })
    .strict(),
  z
    .object({
      mode: z.literal('marker'),
      partitionBy: z.enum(['folder', 'route']).default('folder'),
      markerName: z
        .string()
        .min(1)
        .refine((n) => !n.includes('/'), "must be a file name without '/': the marker is the partition's file of that name")
        .default('_SUCCESS'),
      /**
       * A marker that is a manifest lists the partition's files (JSON: {"files": [...]} or one path per
       * line); each entry must pass the trigger's pathPrefix, pathGlob and ignore patterns.
       */
      manifest: z.boolean().default(false),
      maxManifestSizeInBytes: positiveInt
        .max(16 * 1024 * 1024)
        .default(DEFAULT_MAX_MANIFEST_SIZE_IN_BYTES)
        .describe('A larger manifest fails its batch (default 1 MiB, at most 16 MiB).'),
      maxManifestFiles: positiveInt.max(100_000).default(DEFAULT_MAX_MANIFEST_FILES).describe('A manifest naming more files fails its batch (default 5000).'),
      maxWaitInSeconds: seconds.default(24 * 3600),
    })
    .strict(),
]);

const retrySettingsSchema = z.object({ maxRetries: z.number().int().min(0).max(100), timeoutInSeconds: positiveInt }).strict();

const overridesSchema = z
  .object({
    instanceCount: positiveInt.optional(),
    miniBatchSize: positiveInt.optional(),
    errorThreshold: z.number().int().min(-1).optional(),
    retrySettings: retrySettingsSchema.optional(),
    outputFileName: z.string().min(1).optional(),
  })
  .strict();

const targetSchema = z
  .object({
    workspaceId: workspaceId.optional(),
    endpoint: azureName,
    deployment: azureName.optional(),
    inputMode: z.enum(['UriFile', 'UriFolder', 'List']).optional(),
    inputName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('input'),
    literalInputs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    outputName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('score'),
    outputDatastore: z.string().default('workspaceblobstore'),
    /** Placeholders: {route} {runId} {partition} {date}; must contain {runId} so each run writes somewhere new. */
    outputPath: z.string().default('batchpilot/{route}/{date}/{runId}').refine((p) => p.includes('{runId}'), 'must contain {runId}: outputs are unique per run'),
    overrides: overridesSchema.default({}),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (Object.prototype.hasOwnProperty.call(t.literalInputs, t.inputName)) {
      ctx.addIssue({ code: 'custom', path: ['literalInputs', t.inputName], message: `names the data input ('${t.inputName}', inputName): the literal would replace the blob or folder the run scores` });
    }
  });

const waitSchema = z
  .object({
    pollMinIntervalInSeconds: seconds.default(15),
    pollMaxIntervalInSeconds: seconds.default(600),
    timeoutInMinutes: minutes.default(24 * 60),
    /** Jobs cancelled without being asked (low-priority preemption) are resubmitted this many times. */
    maxResubmissions: z.number().int().min(0).max(10).default(2),
  })
  .strict()
  .refine((w) => w.pollMaxIntervalInSeconds >= w.pollMinIntervalInSeconds, { message: 'pollMaxIntervalInSeconds must be at least pollMinIntervalInSeconds', path: ['pollMaxIntervalInSeconds'] });

const eventsRetrySchema = z
  .object({
    /** First wait after a failed attempt; each further wait doubles, up to the maximum. */
    minIntervalInSeconds: seconds.default(DEFAULT_EVENTS_RETRY.minIntervalInSeconds),
    maxIntervalInSeconds: seconds.default(DEFAULT_EVENTS_RETRY.maxIntervalInSeconds),
    /** Counted from when the run's outcome is known; after it the run records that the announcement failed. */
    timeoutInMinutes: minutes.default(DEFAULT_EVENTS_RETRY.timeoutInMinutes),
  })
  .strict()
  .refine((r) => r.maxIntervalInSeconds >= r.minIntervalInSeconds, { message: 'maxIntervalInSeconds must be at least minIntervalInSeconds', path: ['maxIntervalInSeconds'] });

const eventsSchema = z
  .object({
    topicEndpoint: z
      .string()
      .url()
      .refine((u) => /^https:\/\//i.test(u), 'must be an https URL (events are published with a Microsoft Entra token, which is sent over TLS only)')
      .optional(),
    typePrefix: z.string().regex(/^[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]$/, 'must be dotted letters and digits, e.g. Contoso.Batchpilot').default('Batchpilot'),
    retry: eventsRetrySchema.default(DEFAULT_EVENTS_RETRY),
  })
  .strict();

export const blobRouteSchema = z
  .object({
    name: routeName,
    description: z.string().optional(),
    trigger: triggerSchema,
    batching: batchingSchema.default({ mode: 'perFile' }),
    target: targetSchema,
    wait: waitSchema.default({ pollMinIntervalInSeconds: 15, pollMaxIntervalInSeconds: 600, timeoutInMinutes: 24 * 60, maxResubmissions: 2 }),
    validation: validationRulesSchema.optional(),
    events: eventsSchema.default({ typePrefix: 'Batchpilot', retry: DEFAULT_EVENTS_RETRY }),
    slo: sloSchema.optional(),
  })
  .strict();

// Model routes: which model registrations become candidate scoring, comparison and promotion runs.
const modelTriggerSchema = z
  .object({
    modelName: z
      .string()
      .regex(/^[A-Za-z0-9_.*?{},-]+$/, 'must be a model name or a glob over model names such as churn-* (letters, digits, - _ . and * ? {a,b})')
      .superRefine(compiles),
    tags: z
      .record(z.string().min(1), z.string())
      .default({})
      .describe("Tags the model version must carry, e.g. {stage: candidate}; the value '*' accepts any value of the tag."),
  })
  .strict();

const candidateDeploymentSchema = z.discriminatedUnion(
  'naming',
  [
    z
      .object({
        naming: z.literal('perVersion'),
        /** {model} and {version}; characters Azure ML refuses become '-', long names are shortened with a hash. */
        nameTemplate: z.string().default('{model}-v{version}').refine((t) => t.includes('{version}'), 'must contain {version}: one deployment per model version'),
      })
      .strict(),
    z
      .object({
        naming: z.literal('fixed'),
        name: azureName,
        /** Blue/green: the candidate goes here when `name` is the endpoint's current default. */
        alternateName: azureName.optional(),
      })
      .strict()
      .refine((f) => f.alternateName === undefined || f.alternateName.toLowerCase() !== f.name.toLowerCase(), { message: 'must differ from name', path: ['alternateName'] }),
  ],
  { error: "naming must be 'perVersion' (one deployment per model version) or 'fixed' (a named slot)" },
);

const modelTargetSchema = z
  .object({
    workspaceId: workspaceId.optional(),
    endpoint: azureName,
    candidate: candidateDeploymentSchema.default({ naming: 'perVersion', nameTemplate: '{model}-v{version}' }),
    inputName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('input'),
    outputName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('score'),
    outputDatastore: z.string().default('workspaceblobstore'),
    /** Placeholders: {route} {runId} {model} {version} {date}; the candidate and baseline write to /candidate and /baseline under it. */
    outputPath: z.string().default('batchpilot/models/{route}/{date}/{runId}').refine((p) => p.includes('{runId}'), 'must contain {runId}: outputs are unique per run'),
    overrides: overridesSchema.default({}),
  })
  .strict();

const validationDataSchema = z.discriminatedUnion(
  'type',
  [
    z
      .object({
        type: z.literal('uri_folder'),
        uri: z.string().regex(/^(azureml:\/\/datastores\/[^/]+\/paths\/|https:\/\/)/, 'must be azureml://datastores/<datastore>/paths/<folder>/ or an https URL of a blob folder'),
      })
      .strict(),
    z
      .object({
        type: z.literal('data_asset'),
        asset: z.string().regex(/^azureml:[A-Za-z0-9][A-Za-z0-9_.-]*:[A-Za-z0-9_.-]+$/, "must name a data asset version as 'azureml:<name>:<version>'"),
      })
      .strict(),
  ],
  { error: "type must be 'uri_folder' (a folder of files) or 'data_asset' (a registered data asset version)" },
);

const gateSchema = z.discriminatedUnion(
  'policy',
  [
    z.object({ policy: z.literal('auto') }).strict(),
    z
      .object({
        policy: z.literal('manual'),
        approvalTimeoutInMinutes: seconds.default(72 * 60),
        /** What no decision before the timeout means; 'promote' applies only to a candidate whose comparison passed. */
        onTimeout: z.enum(['reject', 'promote']).default('reject'),
        /** A failed comparison rejects at once, or still goes to an approver who may overrule it. */
        whenComparisonFails: z.enum(['reject', 'askApprover']).default('reject'),
      })
      .strict(),
  ],
  { error: "policy must be 'auto' (promote when the comparison passes) or 'manual' (wait for an approval)" },
);

export const modelRouteSchema = z
  .object({
    name: routeName,
    description: z.string().optional(),
    trigger: modelTriggerSchema,
    target: modelTargetSchema,
    validationData: validationDataSchema,
    wait: waitSchema.default({ pollMinIntervalInSeconds: 15, pollMaxIntervalInSeconds: 600, timeoutInMinutes: 24 * 60, maxResubmissions: 2 }),
    validation: validationRulesSchema.prefault({}),
    comparison: comparisonRulesSchema.prefault({}),
    gate: gateSchema.default({ policy: 'manual', approvalTimeoutInMinutes: 72 * 60, onTimeout: 'reject', whenComparisonFails: 'reject' }),
    /** Replaced (and rejected) deployments are deleted by the cleanup timer after this many days. */
    keepReplacedDeploymentsForDays: z.number().min(0, 'must not be negative').default(30),
    events: eventsSchema.default({ typePrefix: 'Batchpilot', retry: DEFAULT_EVENTS_RETRY }),
  })
  .strict();

export const routesFileSchema = z
  .object({
    $schema: z.string().optional(),
    routes: z.array(blobRouteSchema).default([]),
    modelRoutes: z.array(modelRouteSchema).default([]),
  })
  .strict()
  .superRefine((file, ctx) => {
    // Blob and model routes share one namespace: run records are kept per route name.
    const seen = new Set<string>();
    const check = (list: 'routes' | 'modelRoutes', name: string, i: number): void => {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', message: `route name '${name}' is used twice`, path: [list, i, 'name'] });
      seen.add(name);
    };
    file.routes.forEach((r, i) => check('routes', r.name, i));
    file.modelRoutes.forEach((r, i) => check('modelRoutes', r.name, i));
  });

export type BlobRoute = z.infer<typeof blobRouteSchema>;
export type ModelRoute = z.infer<typeof modelRouteSchema>;
export type RoutesFile = z.infer<typeof routesFileSchema>;

export class RoutesFileError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`Routes file ${file} is invalid:\n- ${problems.join('\n- ')}`);
    this.name = 'RoutesFileError';
  }
}

/** Fills `${NAME}` from settings; an unknown name is an error, not an empty string. */
export function fillPlaceholders(text: string, env: NodeJS.ProcessEnv, missing: Set<string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_whole, name: string) => {
    const v = env[name];
    if (v === undefined) {
      missing.add(name);
      return '';
    }
    return v;
  });
}

function describeIssuePath(parsed: unknown, issuePath: ReadonlyArray<PropertyKey>): string {
  if ((issuePath[0] === 'routes' || issuePath[0] === 'modelRoutes') && typeof issuePath[1] === 'number') {
    const route = (parsed as Record<string, Array<{ name?: unknown }> | undefined>)[issuePath[0]]?.[issuePath[1]];
    const kind = issuePath[0] === 'modelRoutes' ? 'model route' : 'route';
    const name = typeof route?.name === 'string' ? `${kind} '${route.name}'` : `${kind} #${issuePath[1] + 1}`;
    const rest = issuePath.slice(2).map(String).join('.');
    return rest ? `${name}, field ${rest}` : name;
  }
  return issuePath.length ? `field ${issuePath.map(String).join('.')}` : 'the file';
}

/** YAML as yaml's parse() reads it, except that a warning (an unknown tag such as `!foo`) is an error too, not a line on stderr. */
function parseYaml(text: string): unknown {
  const doc = parseDocument(text);
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw problem;
  return doc.toJS();
}

/** Deeper than any routes file is (a route's fields nest about six levels). */
const MAX_ROUTES_DEPTH = 32;

/** How deep `value` nests, counted without recursion and no further than `limit + 1`. */
function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<{ v: unknown; d: number }> = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, d + 1);
    if (deepest > limit) return deepest;
    for (const child of Object.values(v)) stack.push({ v: child, d: d + 1 });
  }
  return deepest;
}

function fillValues(value: unknown, env: NodeJS.ProcessEnv, missing: Set<string>): unknown {
  if (typeof value === 'string') return fillPlaceholders(value, env, missing);
  if (Array.isArray(value)) return value.map((v) => fillValues(v, env, missing));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillValues(v, env, missing)]));
  return value;
}

/** Parses routes text (YAML or JSON) and validates it; placeholders are filled in values only. */
export function parseRoutes(text: string, file: string, env: NodeJS.ProcessEnv = process.env): RoutesFile {
  let raw: unknown;
  // Editors on Windows may start the file with a byte order mark, which JSON.parse calls an unexpected (invisible) token.
  const body = text.replace(/^\uFEFF/, '');
  try {
    raw = /\.json$/i.test(file) ? JSON.parse(body) : parseYaml(body);
  } catch (err) {
    throw new RoutesFileError(file, [`not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`]);
  }
  const depth = nestingDepth(raw, MAX_ROUTES_DEPTH);
  if (depth > MAX_ROUTES_DEPTH) throw new RoutesFileError(file, [`nested more than ${MAX_ROUTES_DEPTH} levels deep; a routes file needs fewer than 10`]);
  const missing = new Set<string>();
  const parsed = fillValues(raw, env, missing);
  if (missing.size) throw new RoutesFileError(file, [...missing].map((m) => `placeholder \${${m}} names a setting that is not defined`));
  if (parsed === null || typeof parsed !== 'object') throw new RoutesFileError(file, ['the file must be a mapping with a `routes` list']);
  const result = routesFileSchema.safeParse(parsed);
  if (!result.success) {
    throw new RoutesFileError(
      file,
      result.error.issues.map((i) => `${describeIssuePath(parsed, i.path)}: ${i.message}`),
    );
  }
  return result.data;
}

/** Loads the routes file named by settings, relative to the app root. */
export function loadRoutes(routesPath: string, appRoot: string, env: NodeJS.ProcessEnv = process.env): RoutesFile {
  const file = path.resolve(appRoot, routesPath);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new RoutesFileError(file, [`cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  let text: string;
  try {
    // Fatal: a Latin-1 'ü' would otherwise reach a job input as U+FFFD.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new RoutesFileError(file, ['is not UTF-8 text: save it as UTF-8']);
  }
  return parseRoutes(text, file, env);
}

/** JSON Schema of the routes file, for editors (published as schemas/routes.schema.json). */
export function routesJsonSchema(): unknown {
  return z.toJSONSchema(routesFileSchema, { io: 'input', unrepresentable: 'any' });
}
