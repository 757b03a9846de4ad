// Validates JSON against definitions of the Swagger 2.0 (OpenAPI) files in test/contracts, with ajv.
// Swagger is not JSON Schema, so definitions are translated first: `allOf` inheritance is flattened
// (a subtype's `additionalProperties: false` covers its inherited properties too, as AutoRest reads
// it), a polymorphic base is validated as the subtype its discriminator names, `x-nullable` admits
// null, and `$ref`s into other files (common-types) are followed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { CONTRACTS_DIR } from './contractsDir';

type SwaggerSchema = {
  $ref?: string;
  type?: string;
  allOf?: SwaggerSchema[];
  properties?: Record<string, SwaggerSchema>;
  required?: string[];
  additionalProperties?: boolean | SwaggerSchema;
  items?: SwaggerSchema;
  discriminator?: string;
  'x-ms-discriminator-value'?: string;
  'x-nullable'?: boolean;
  [key: string]: unknown;
};

type SwaggerFile = { definitions?: Record<string, SwaggerSchema> };
type JsonSchema = Record<string, unknown>;

export { CONTRACTS_DIR };

const COPIED_KEYWORDS = ['type', 'enum', 'format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems', 'uniqueItems'];
const SWAGGER_ONLY_FORMATS = ['arm-id', 'unixtime', 'date-time-rfc1123', 'decimal', 'base64url', 'file', 'url'];

export class SwaggerValidator {
  readonly #ajv: Ajv;
  readonly #files = new Map<string, SwaggerFile>();
  readonly #added = new Set<string>();

  constructor(readonly contractsDir: string = CONTRACTS_DIR) {
    this.#ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.#ajv);
    for (const format of SWAGGER_ONLY_FORMATS) this.#ajv.addFormat(format, true);
  }

  /** Errors of `value` against `definition` in `swaggerFile` (a path under test/contracts); [] when valid. */
  validate(swaggerFile: string, definition: string, value: unknown): string[] {
    const id = this.#ensure(path.resolve(this.contractsDir, swaggerFile), definition, false);
    const check = this.#ajv.getSchema(id);
    if (!check) throw new Error(`Could not compile ${swaggerFile}#/definitions/${definition}.`);
    if (check(value)) return [];
    return (check.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '(root)'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
  }

  #file(absolute: string): SwaggerFile {
    let file = this.#files.get(absolute);
    if (!file) {
      if (!fs.existsSync(absolute)) {
        throw new Error(`${path.relative(this.contractsDir, absolute)} is not in ${this.contractsDir}: copy it from upstream unchanged and add it to SOURCES.md there.`);
      }
      file = JSON.parse(fs.readFileSync(absolute, 'utf8')) as SwaggerFile;
      this.#files.set(absolute, file);
    }
    return file;
  }

  #definition(absolute: string, name: string): SwaggerSchema {
    const def = this.#file(absolute).definitions?.[name];
    if (!def) throw new Error(`${path.relative(this.contractsDir, absolute)} has no definition '${name}'.`);
    return def;
  }

  #resolveRef(fromFile: string, ref: string): { file: string; name: string } {
    const [filePart, pointer] = ref.split('#');
    // Upstream, common-types sits several folders above each swagger; here it is at the top of the
    // contracts folder. Resolving the upstream relative path would leave the repository, so never try it.
    const commonTypes = filePart?.indexOf('common-types/') ?? -1;
    const file = !filePart ? fromFile
      : commonTypes >= 0 ? path.join(this.contractsDir, filePart.slice(commonTypes))
        : path.resolve(path.dirname(fromFile), filePart);
    const inside = path.relative(this.contractsDir, file);
    if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
      throw new Error(`$ref '${ref}' in ${fromFile} points outside ${this.contractsDir}; copy the file it names into the contracts folder.`);
    }
    const m = /^\/definitions\/(.+)$/.exec(pointer ?? '');
    if (!m) throw new Error(`Unsupported $ref '${ref}' in ${fromFile}.`);
    return { file, name: m[1] };
  }

  #id(file: string, name: string, concrete: boolean): string {
    const relative = path.relative(this.contractsDir, file).split(path.sep).map(encodeURIComponent).join('/');
    return `https://contracts.local/${relative}/${encodeURIComponent(name)}${concrete ? '/concrete' : ''}`;
  }

  #ensure(file: string, name: string, concrete: boolean): string {
    const id = this.#id(file, name, concrete);
    if (this.#added.has(id)) return id;
    this.#added.add(id);
    try {
      const def = this.#definition(file, name);
      const isObject = def.type === 'object' || def.properties !== undefined || def.allOf !== undefined || (def.type === undefined && def.enum === undefined);
      const schema = !concrete && this.#isPolymorphic(file, name, def)
        ? this.#polymorphic(file, name)
        : isObject ? this.#flatten(file, def) : this.#convert(file, def);
      this.#ajv.addSchema({ ...schema, $id: id }, id);
    } catch (e) {
      this.#added.delete(id);
      throw e;
    }
    return id;
  }

  /** The discriminator property, declared on this definition or inherited. */
  #discriminatorOf(file: string, def: SwaggerSchema): string | undefined {
    if (def.discriminator) return def.discriminator;
    for (const parent of def.allOf ?? []) {
      if (!parent.$ref) continue;
      const target = this.#resolveRef(file, parent.$ref);
      const found = this.#discriminatorOf(target.file, this.#definition(target.file, target.name));
      if (found) return found;
    }
    return undefined;
  }

  #inheritsFrom(file: string, def: SwaggerSchema, baseFile: string, baseName: string, depth = 0): boolean {
    if (depth > 10) return false;
    for (const parent of def.allOf ?? []) {
      if (!parent.$ref) continue;
      const target = this.#resolveRef(file, parent.$ref);
      if (target.file === baseFile && target.name === baseName) return true;
      if (this.#inheritsFrom(target.file, this.#definition(target.file, target.name), baseFile, baseName, depth + 1)) return true;
    }
    return false;
  }

  #subtypes(file: string, name: string): string[] {
    const definitions = this.#file(file).definitions ?? {};
    return Object.keys(definitions).filter((candidate) => candidate !== name && this.#inheritsFrom(file, definitions[candidate], file, name));
  }

  #isPolymorphic(file: string, name: string, def: SwaggerSchema): boolean {
    return this.#discriminatorOf(file, def) !== undefined && this.#subtypes(file, name).length > 0;
  }

  #polymorphic(file: string, name: string): JsonSchema {
    const def = this.#definition(file, name);
    const discriminator = this.#discriminatorOf(file, def)!;
    const candidates = this.#subtypes(file, name);
    if (def['x-ms-discriminator-value']) candidates.unshift(name);
    const valueOf = (candidate: string): string => String(this.#definition(file, candidate)['x-ms-discriminator-value'] ?? candidate);
    return {
      type: 'object',
      required: [discriminator],
      properties: { [discriminator]: { enum: candidates.map(valueOf) } },
      allOf: candidates.map((candidate) => ({
        if: { properties: { [discriminator]: { const: valueOf(candidate) } }, required: [discriminator] },
        then: { $ref: this.#ensure(file, candidate, true) },
      })),
    };
  }

  /** Properties and required names gathered over the allOf chain. */
  #collect(file: string, def: SwaggerSchema, into: { properties: Record<string, JsonSchema>; required: Set<string> }): void {
    for (const parent of def.allOf ?? []) {
      if (parent.$ref) {
        const target = this.#resolveRef(file, parent.$ref);
        this.#collect(target.file, this.#definition(target.file, target.name), into);
      } else {
        this.#collect(file, parent, into);
      }
    }
    for (const [key, value] of Object.entries(def.properties ?? {})) into.properties[key] = this.#convert(file, value);
    for (const key of def.required ?? []) into.required.add(key);
  }

  #flatten(file: string, def: SwaggerSchema): JsonSchema {
    const gathered = { properties: {} as Record<string, JsonSchema>, required: new Set<string>() };
    this.#collect(file, def, gathered);
    const schema: JsonSchema = { type: 'object', properties: gathered.properties };
    if (gathered.required.size) schema.required = [...gathered.required];
    if (def.additionalProperties === false) schema.additionalProperties = false;
    else if (typeof def.additionalProperties === 'object') schema.additionalProperties = this.#convert(file, def.additionalProperties);
    return schema;
  }

  #convert(file: string, schema: SwaggerSchema): JsonSchema {
    let converted: JsonSchema;
    if (schema.$ref) {
      const target = this.#resolveRef(file, schema.$ref);
      converted = { $ref: this.#ensure(target.file, target.name, false) };
    } else if (schema.allOf || (schema.type === 'object' && schema.properties)) {
      converted = this.#flatten(file, schema);
    } else {
      converted = {};
      for (const key of COPIED_KEYWORDS) if (schema[key] !== undefined) converted[key] = schema[key];
      if (converted.type === 'file') delete converted.type;
      if (schema.items) converted.items = this.#convert(file, schema.items);
      if (schema.additionalProperties === false) converted.additionalProperties = false;
      else if (typeof schema.additionalProperties === 'object') converted.additionalProperties = this.#convert(file, schema.additionalProperties);
    }
    return schema['x-nullable'] ? { anyOf: [converted, { type: 'null' }] } : converted;
  }
}

/** Shorthands for the files the emulator answers with. */
export const CONTRACT_FILES = {
  arm: 'azureml-arm/2022-10-01/mfe.json',
  arm2024: 'azureml-arm/2024-04-01/mfe.json',
  workspaces: 'azureml-arm/2022-10-01/machineLearningServices.json',
  dataPlane: 'azureml-batch-dataplane/2020-09-01-dataplanepreview/mfe.json',
  commonTypes: 'common-types/resource-management/v3/types.json',
  mlEvents: 'eventgrid/Microsoft.MachineLearningServices/stable/2018-01-01/MachineLearningServices.json',
} as const;
