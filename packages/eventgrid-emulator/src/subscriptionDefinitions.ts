// The local declaration of topics and event subscriptions: a JSON file whose entries mirror the
// `Microsoft.EventGrid/eventSubscriptions` properties that infra/ creates in Azure, so that one can be
// read against the other. Loaded with clear errors; see README.md in this folder for the format.
//
//   {
//     "topics": [ { "name": "batchpilot-runs", "inputSchema": "CloudEventSchemaV1_0" } ],
//     "subscriptions": [ {
//       "name": "blob-intake",
//       "topic": "storage",                               // 'storage', 'workspace' or a custom topic name
//       "destination": { "endpointType": "AzureFunction",
//                        "properties": { "resourceId": ".../sites/app/functions/blobIntake", "maxEventsPerBatch": 1 } },
//       "eventDeliverySchema": "EventGridSchema",
//       "filter": { "includedEventTypes": ["Microsoft.Storage.BlobCreated"],
//                   "subjectBeginsWith": "/blobServices/default/containers/input/blobs/",
//                   "advancedFilters": [ { "operatorType": "StringIn", "key": "data.api", "values": ["PutBlob", "PutBlockList", "CopyBlob"] } ] },
//       "retryPolicy": { "maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440 },
//       "deadLetterDestination": { "endpointType": "StorageBlob", "properties": { "blobContainerName": "deadletters" } }
//     } ]
//   }

import * as fs from 'node:fs';
import { z } from 'zod';
import type { EventSchemaName } from './eventShapes';
import type { SubscriptionFilter } from './eventFilters';

const schemaName = z.enum(['EventGridSchema', 'CloudEventSchemaV1_0']);

const batching = {
  /** Event Grid allows 1–5000; 1 (the default) delivers one event per request. */
  maxEventsPerBatch: z.number().int().min(1).max(5000).optional(),
  /** Event Grid allows 1–1024 KB; default 64. A single larger event still goes alone. */
  preferredBatchSizeInKilobytes: z.number().int().min(1).max(1024).optional(),
};

const destination = z.discriminatedUnion('endpointType', [
  z.object({
    endpointType: z.literal('WebHook'),
    properties: z.object({ endpointUrl: z.url(), ...batching }),
  }),
  z.object({
    endpointType: z.literal('AzureFunction'),
    properties: z
      .object({
        /** `/subscriptions/.../providers/Microsoft.Web/sites/{app}/functions/{functionName}` as in infra/. */
        resourceId: z.string().optional(),
        /** Local shorthand for the function name when no resource ID is given. */
        functionName: z.string().optional(),
        ...batching,
      })
      .refine((p) => Boolean(p.functionName || /\/functions\/[^/]+$/i.test(p.resourceId ?? '')), {
        message: "an AzureFunction destination needs 'functionName' or a 'resourceId' ending in /functions/{name}",
      }),
  }),
]);

const stringValues = z.array(z.string()).min(1);
const advancedFilter = z.discriminatedUnion('operatorType', [
  ...(['StringIn', 'StringNotIn', 'StringBeginsWith', 'StringNotBeginsWith', 'StringEndsWith', 'StringNotEndsWith', 'StringContains', 'StringNotContains'] as const).map((op) =>
    z.object({ operatorType: z.literal(op), key: z.string().min(1), values: stringValues }),
  ),
  ...(['NumberIn', 'NumberNotIn'] as const).map((op) => z.object({ operatorType: z.literal(op), key: z.string().min(1), values: z.array(z.number()).min(1) })),
  ...(['NumberLessThan', 'NumberGreaterThan', 'NumberLessThanOrEquals', 'NumberGreaterThanOrEquals'] as const).map((op) =>
    z.object({ operatorType: z.literal(op), key: z.string().min(1), value: z.number() }),
  ),
  ...(['NumberInRange', 'NumberNotInRange'] as const).map((op) =>
    z.object({ operatorType: z.literal(op), key: z.string().min(1), values: z.array(z.tuple([z.number(), z.number()])).min(1) }),
  ),
  z.object({ operatorType: z.literal('BoolEquals'), key: z.string().min(1), value: z.boolean() }),
  z.object({ operatorType: z.literal('IsNullOrUndefined'), key: z.string().min(1) }),
  z.object({ operatorType: z.literal('IsNotNull'), key: z.string().min(1) }),
] as unknown as [z.ZodObject, ...z.ZodObject[]]);

const filter = z.object({
  includedEventTypes: z.array(z.string()).nullable().optional(),
  subjectBeginsWith: z.string().optional(),
  subjectEndsWith: z.string().optional(),
  isSubjectCaseSensitive: z.boolean().optional(),
  enableAdvancedFilteringOnArrays: z.boolean().optional(),
  /** Event Grid allows up to 25 advanced filters per subscription. */
  advancedFilters: z.array(advancedFilter).max(25).optional(),
});

export const subscriptionDefinitionSchema = z.object({
  /** 3–64 characters: letters, digits and '-', as Azure requires. */
  name: z.string().regex(/^[A-Za-z0-9-]{3,64}$/, 'subscription names are 3-64 letters, digits or -'),
  topic: z.string().min(1),
  destination,
  eventDeliverySchema: schemaName.optional(),
  filter: filter.optional(),
  retryPolicy: z
    .object({
      maxDeliveryAttempts: z.number().int().min(1).max(30).optional(),
      eventTimeToLiveInMinutes: z.number().int().min(1).max(1440).optional(),
    })
    .optional(),
  deadLetterDestination: z
    .object({
      endpointType: z.literal('StorageBlob'),
      properties: z.object({ resourceId: z.string().optional(), blobContainerName: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'not a valid blob container name') }),
    })
    .optional(),
});

export const topicDeclarationSchema = z.object({
  name: z.string().min(1),
  inputSchema: schemaName.default('EventGridSchema'),
});

export const eventGridLocalConfigSchema = z.object({
  topics: z.array(topicDeclarationSchema).default([]),
  subscriptions: z.array(subscriptionDefinitionSchema).default([]),
});

type ParsedSubscription = z.infer<typeof subscriptionDefinitionSchema>;

/** One event subscription as declared (ARM property names). */
export interface SubscriptionDefinition {
  name: string;
  /** The topic's local name: `storage`, `workspace`, or a custom topic. */
  topic: string;
  destination: ParsedSubscription['destination'];
  eventDeliverySchema?: EventSchemaName;
  filter?: SubscriptionFilter;
  retryPolicy?: { maxDeliveryAttempts?: number; eventTimeToLiveInMinutes?: number };
  deadLetterDestination?: { endpointType: 'StorageBlob'; properties: { resourceId?: string; blobContainerName: string } };
}

export interface TopicDeclaration {
  name: string;
  inputSchema: EventSchemaName;
}

export interface EventGridLocalConfig {
  topics: TopicDeclaration[];
  subscriptions: SubscriptionDefinition[];
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`).join('\n');
}

export function parseSubscriptionDefinition(value: unknown): SubscriptionDefinition {
  const result = subscriptionDefinitionSchema.safeParse(value);
  if (!result.success) {
    throw new Error(`Invalid event subscription definition:\n${describeIssues(result.error)}`);
  }
  return result.data as SubscriptionDefinition;
}

export function parseEventGridLocalConfig(value: unknown, origin = 'event subscriptions'): EventGridLocalConfig {
  const result = eventGridLocalConfigSchema.safeParse(value);
  if (!result.success) {
    throw new Error(`Invalid ${origin}:\n${describeIssues(result.error)}\nSee the README of @batchpilot/eventgrid-emulator for the format.`);
  }
  return result.data as EventGridLocalConfig;
}

export function loadEventGridLocalConfig(file: string): EventGridLocalConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read the event subscriptions file '${file}': ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`The event subscriptions file '${file}' is not valid JSON: ${(error as Error).message}`);
  }
  return parseEventGridLocalConfig(json, `event subscriptions file '${file}'`);
}

/** The function an AzureFunction destination names (its resource ID's last segment, or the local shorthand). */
export function destinationFunctionName(properties: { resourceId?: string; functionName?: string }): string {
  if (properties.functionName) return properties.functionName;
  const m = /\/functions\/([^/]+)$/i.exec(properties.resourceId ?? '');
  if (!m) throw new Error(`Cannot tell the function name from '${properties.resourceId}'.`);
  return m[1];
}
