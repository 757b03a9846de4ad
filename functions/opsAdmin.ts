// Operator API beyond single runs (src/operator/operatorEndpoints.ts): purge, rollbacks, the audit trail and its check, the caller, the run index.
import { app, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { durableClientFor } from '../src/azure/durableClient';
import { operatorEndpoint } from '../src/operator/operatorHttp';
import type * as Endpoints from '../src/operator/operatorEndpoints';

// The endpoints' code (and what it pulls in: run starts, event schemas) loads with the first request, not at startup.
const endpoints = (): typeof Endpoints => require('../src/operator/operatorEndpoints') as typeof Endpoints;

app.http('opsPurge', {
  authLevel: 'function',
  methods: ['POST'],
  route: 'ops/purge',
  extraInputs: [df.input.durableClient()],
  handler: operatorEndpoint((req, ctx: InvocationContext) => endpoints().purgeEndpoint(req, durableClientFor(ctx), ctx)),
});
app.http('opsRollback', {
  authLevel: 'function',
  methods: ['POST'],
  route: 'ops/rollbacks',
  extraInputs: [df.input.durableClient()],
  handler: operatorEndpoint((req, ctx: InvocationContext) => endpoints().rollbackEndpointRequest(req, durableClientFor(ctx), ctx)),
});
app.http('opsAudit', { authLevel: 'function', methods: ['GET'], route: 'ops/audit', handler: operatorEndpoint((req) => endpoints().auditEndpoint(req)) });
app.http('opsAuditVerify', { authLevel: 'function', methods: ['GET'], route: 'ops/audit/verify', handler: operatorEndpoint((req) => endpoints().auditVerifyEndpoint(req)) });
app.http('opsMe', { authLevel: 'function', methods: ['GET'], route: 'ops/me', handler: operatorEndpoint((req) => endpoints().whoAmIEndpoint(req)) });
app.http('opsRunIndex', { authLevel: 'function', methods: ['GET'], route: 'ops/index', handler: operatorEndpoint((req) => endpoints().runIndexStatusEndpoint(req)) });
app.http('opsBackfillRunIndex', {
  authLevel: 'function',
  methods: ['POST'],
  route: 'ops/index/backfill',
  extraInputs: [df.input.durableClient()],
  handler: operatorEndpoint((req, ctx: InvocationContext) => endpoints().backfillRunIndexEndpoint(req, durableClientFor(ctx), ctx)),
});
app.http('opsRouteHealth', { authLevel: 'function', methods: ['GET'], route: 'ops/health', handler: operatorEndpoint((req) => endpoints().routeHealthEndpoint(req)) });
