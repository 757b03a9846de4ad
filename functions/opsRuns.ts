// Operator API over runs (src/operator/operatorEndpoints.ts): list, counts, start, one run, actions.
import { app, HttpRequest, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { durableClientFor } from '../src/azure/durableClient';
import { operatorEndpoint } from '../src/operator/operatorHttp';
import { countRunsEndpoint, listRunsEndpoint, runActionEndpoint, runDetailEndpoint, startRunEndpoint } from '../src/operator/operatorEndpoints';

const withClient = { authLevel: 'function' as const, extraInputs: [df.input.durableClient()] };
const client = (context: InvocationContext) => durableClientFor(context);

app.http('opsListRuns', { ...withClient, methods: ['GET'], route: 'ops/runs', handler: operatorEndpoint((req: HttpRequest, ctx) => listRunsEndpoint(req, client(ctx))) });
app.http('opsCountRuns', { ...withClient, methods: ['GET'], route: 'ops/counts', handler: operatorEndpoint((req, ctx) => countRunsEndpoint(req, client(ctx))) });
app.http('opsStartRun', { ...withClient, methods: ['POST'], route: 'ops/runs', handler: operatorEndpoint((req, ctx) => startRunEndpoint(req, client(ctx), ctx)) });
app.http('opsGetRun', { ...withClient, methods: ['GET'], route: 'ops/runs/{runId}', handler: operatorEndpoint((req, ctx) => runDetailEndpoint(req, client(ctx))) });
app.http('opsRunAction', { ...withClient, methods: ['POST'], route: 'ops/runs/{runId}/{action}', handler: operatorEndpoint((req, ctx) => runActionEndpoint(req, client(ctx), ctx)) });
