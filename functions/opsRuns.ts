// Operator API over runs (src/operator/operatorEndpoints.ts): list, counts, start, one run, actions.
import { app, HttpRequest, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { durableClientFor } from '../src/azure/durableClient';
import { operatorEndpoint } from '../src/operator/operatorHttp';
import type * as Endpoints from '../src/operator/operatorEndpoints';

// The endpoints' code (and what it pulls in: run starts, event schemas) loads with the first request, not at startup.
const endpoints = (): typeof Endpoints => require('../src/operator/operatorEndpoints') as typeof Endpoints;

const withClient = { authLevel: 'function' as const, extraInputs: [df.input.durableClient()] };
const client = (context: InvocationContext) => durableClientFor(context);

app.http('opsListRuns', { ...withClient, methods: ['GET'], route: 'ops/runs', handler: operatorEndpoint((req: HttpRequest, ctx) => endpoints().listRunsEndpoint(req, client(ctx))) });
app.http('opsCountRuns', { ...withClient, methods: ['GET'], route: 'ops/counts', handler: operatorEndpoint((req, ctx) => endpoints().countRunsEndpoint(req, client(ctx))) });
app.http('opsStartRun', { ...withClient, methods: ['POST'], route: 'ops/runs', handler: operatorEndpoint((req, ctx) => endpoints().startRunEndpoint(req, client(ctx), ctx)) });
app.http('opsGetRun', { ...withClient, methods: ['GET'], route: 'ops/runs/{runId}', handler: operatorEndpoint((req, ctx) => endpoints().runDetailEndpoint(req, client(ctx))) });
app.http('opsRunAction', { ...withClient, methods: ['POST'], route: 'ops/runs/{runId}/{action}', handler: operatorEndpoint((req, ctx) => endpoints().runActionEndpoint(req, client(ctx), ctx)) });
