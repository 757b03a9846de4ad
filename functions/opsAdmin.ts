// Operator API beyond single runs (src/operator/operatorEndpoints.ts): purge, rollbacks, the audit trail and its check, the caller, the run index.
import { app, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { operatorEndpoint } from '../src/operator/operatorHttp';
import { auditEndpoint, auditVerifyEndpoint, backfillRunIndexEndpoint, purgeEndpoint, rollbackEndpointRequest, runIndexStatusEndpoint, whoAmIEndpoint } from '../src/operator/operatorEndpoints';

app.http('opsPurge', {
  authLevel: 'function',
  methods: ['POST'],
  route: 'ops/purge',
  extraInputs: [df.input.durableClient()],
  handler: operatorEndpoint((req, ctx: InvocationContext) => purgeEndpoint(req, df.getClient(ctx), ctx)),
});
app.http('opsRollback', {
  authLevel: 'function',
  methods: ['POST'],
  route: 'ops/rollbacks',
  extraInputs: [df.input.durableClient()],
  handler: operatorEndpoint((req, ctx: InvocationContext) => rollbackEndpointRequest(req, df.getClient(ctx), ctx)),
});
app.http('opsAudit', { authLevel: 'function', methods: ['GET'], route: 'ops/audit', handler: operatorEndpoint((req) => auditEndpoint(req)) });
app.http('opsAuditVerify', { authLevel: 'function', methods: ['GET'], route: 'ops/audit/verify', handler: operatorEndpoint((req) => auditVerifyEndpoint(req)) });
app.http('opsMe', { authLevel: 'function', methods: ['GET'], route: 'ops/me', handler: operatorEndpoint((req) => whoAmIEndpoint(req)) });
app.http('opsRunIndex', { authLevel: 'function', methods: ['GET'], route: 'ops/index', handler: operatorEndpoint((req) => runIndexStatusEndpoint(req)) });
app.http('opsBackfillRunIndex', {
  authLevel: 'function',
  methods: ['POST'],
  route: 'ops/index/backfill',
  extraInputs: [df.input.durableClient()],
  handler: operatorEndpoint((req, ctx: InvocationContext) => backfillRunIndexEndpoint(req, df.getClient(ctx), ctx)),
});
