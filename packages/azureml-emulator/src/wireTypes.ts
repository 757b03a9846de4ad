// Shapes shared by the Azure ML emulator's parts: JSON values as they cross the wire, and the Event Grid
// event the emulator hands to whoever publishes its workspace system topic (the Event Grid emulator).
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** An event in the Event Grid schema, as Azure ML's system topic emits it. */
export interface EventGridEventLike {
  id: string;
  /** The workspace's ARM ID: system topics name their source resource. */
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: JsonObject;
  dataVersion: string;
  metadataVersion: string;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a property whatever its casing: the batch data plane documents PascalCase bodies
 * (`InputData`, `JobInputType`) while generated clients send camelCase, and the service takes both.
 */
export function propertyOf(object: JsonObject, name: string): JsonValue | undefined {
  if (name in object) return object[name];
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(object)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}
