// The local Functions host: loads an app folder, serves its HTTP triggers, Event Grid webhooks, timers,
// queue and blob triggers, its Storage input and output bindings, and (through the durable engine) its
// orchestrations, activities, entities and durable client RPC. It runs any Node v4-model app, not only
// batchpilot; what it cannot serve it says at startup (see bindingSupport.ts and README.md).
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadFunctionApp, LoadedApp, resolveSettingReferences } from './appLoader';
import type { DurableEngineFactory, DurableEngineHandle, RouteHandler } from './contracts';
import { DURABLE_TASK_SYSTEM_KEY, FunctionKeyStore, keyGivenIn } from './functionKeys';
import { HttpTriggerGateway } from './httpTriggerGateway';
import { EVENT_GRID_WEBHOOK_PATH, EventGridWebhook } from './eventGridWebhook';
import { TimerScheduler } from './timerScheduler';
import { HttpError, readBody, sendError, sendJson } from './httpExchange';
import { createHostLogger, HostLogger } from './hostLog';
import { LOCAL_HOST_VERSION } from './functionsCore';
import { poisonBlobThreshold, queueOptions } from './queueMessages';
import { QueueTriggers } from './queueTrigger';
import { BlobTriggers, localHostId } from './blobTrigger';
import { readBlobInput, readTableInput, outputValue, writeBlobOutput, writeQueueOutput, writeTableOutput, OutputContext } from './storageBindings';
import { bindingProblems, reportBindingProblems } from './bindingSupport';

export const DEFAULT_LOCAL_HOST_PORT = 7071;
const DEFAULT_MAX_REQUEST_BODY_IN_BYTES = 100 * 1024 * 1024;
const DURABLE_TRIGGER_TYPES = new Set(['orchestrationtrigger', 'activitytrigger', 'entitytrigger']);

export interface LocalHostOptions {
  appDir: string;
  /** 0 picks a free port. Default 7071, as Core Tools. */
  port?: number;
  hostname?: string;
  settings?: Record<string, string>;
  /** Where keys and other host state live; default `<appDir>/.local/host`. */
  dataDir?: string;
  logger?: HostLogger;
  durableEngineFactory?: DurableEngineFactory;
}

export interface RunningLocalHost {
  url: string;
  port: number;
  app: LoadedApp;
  keys: FunctionKeyStore;
  httpTriggers: HttpTriggerGateway;
  eventGrid: EventGridWebhook;
  timers: TimerScheduler;
  queueTriggers: QueueTriggers;
  blobTriggers: BlobTriggers;
  durable?: DurableEngineHandle;
  stop(): Promise<void>;
}

const HOST_STATUS_PATH = '/admin/host/status';

export async function startLocalHost(options: LocalHostOptions): Promise<RunningLocalHost> {
  const logger = options.logger ?? createHostLogger();
  const app = await loadFunctionApp(options.appDir, { settings: options.settings, logger });
  const dataDir = options.dataDir ?? path.join(app.appDir, '.local', 'host');
  const keys = FunctionKeyStore.open(path.join(dataDir, 'keys.json'), app.list().map((f) => f.name));
  const routePrefix = (app.hostJson.extensions?.http?.routePrefix ?? 'api').replace(/^\/+|\/+$/g, '');
  const httpTriggers = new HttpTriggerGateway(app, keys, routePrefix, logger);
  const eventGrid = new EventGridWebhook(app, keys, logger);
  const timers = new TimerScheduler(app, logger);
  const queues = queueOptions(app.hostJson);
  const queueTriggers = new QueueTriggers(app, queues, logger);
  const blobTriggers = new BlobTriggers(app, localHostId(app.appDir), { ...queues, maxDequeueCount: poisonBlobThreshold(app.hostJson) }, logger);
  app.addInputBindingProvider({ type: 'blob', provide: (fn, name, binding, data) => readBlobInput(fn, name, binding, data) });
  app.addInputBindingProvider({ type: 'table', provide: (fn, name, binding, data) => readTableInput(fn, name, binding, data) });
  const outputContext = (data: Record<string, unknown>): OutputContext => ({ data, queueEncoding: queues.messageEncoding, queueWritten: (url) => queueTriggers.written(url) });
  app.addOutputBindingWriter({ type: 'blob', write: (fn, name, binding, value, data) => writeBlobOutput(fn, name, binding, outputValue(value), outputContext(data)) });
  app.addOutputBindingWriter({ type: 'queue', write: (fn, name, binding, value, data) => writeQueueOutput(fn, name, binding, outputValue(value), outputContext(data)) });
  app.addOutputBindingWriter({ type: 'table', write: (fn, name, binding, value, data) => writeTableOutput(fn, name, binding, outputValue(value), outputContext(data)) });
  const maxBody = Number(process.env.FUNCTIONS_REQUEST_BODY_SIZE_LIMIT) || DEFAULT_MAX_REQUEST_BODY_IN_BYTES;

  let durable: DurableEngineHandle | undefined;
  const usesDurable = app.list().some((f) => DURABLE_TRIGGER_TYPES.has(f.triggerType) || Object.values(f.bindings).some((b) => String(b.type).toLowerCase() === 'durableclient'));
  if (usesDurable) {
    if (!options.durableEngineFactory) throw new Error('The app uses Durable Functions but the host was started without a durable engine.');
    const connectionString = process.env.AzureWebJobsStorage;
    if (!connectionString) throw new Error("The app uses Durable Functions, which need the 'AzureWebJobsStorage' setting (Azurite locally: see local.settings.sample.json).");
    const durableSettings = app.hostJson.extensions?.durableTask ?? {};
    const taskHubName = resolveSettingReferences(String(durableSettings.hubName ?? 'TestHubName'));
    if (!/^[A-Za-z][A-Za-z0-9]{2,49}$/.test(taskHubName)) {
      throw new Error(`Task hub name '${taskHubName}' is invalid: 3-50 letters and digits, starting with a letter.`);
    }
    durable = options.durableEngineFactory({
      invoker: app,
      connectionString,
      taskHubName,
      maxConcurrentActivityFunctions: durableSettings.maxConcurrentActivityFunctions,
      maxConcurrentOrchestratorFunctions: durableSettings.maxConcurrentOrchestratorFunctions,
      systemKey: keys.systemKey(DURABLE_TASK_SYSTEM_KEY),
      authorizesKey: (given) => keys.authorizesSystem(DURABLE_TASK_SYSTEM_KEY, given),
      log: (level, message) => logger({ level, category: 'host', message: `[durable] ${message}` }),
    });
    app.addInputBindingProvider(durable.durableClientProvider);
  }
  reportBindingProblems(bindingProblems(app.list(), app), logger);
  const routeHandlers: RouteHandler[] = durable ? [durable.routeHandler] : [];

  // The port opens before the durable engine starts (its management URLs need the port), but requests
  // wait until the engine has resumed the task hub, as Azure's host is not reachable before its
  // extensions started: a request served earlier would meet an engine that does not yet know the
  // instances it had, and a repeated start would begin a fresh instance where one is running.
  let opened: () => void = () => undefined;
  let failedToStart: (err: Error) => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    opened = resolve;
    failedToStart = reject;
  });
  started.catch(() => undefined);
  let state: 'Starting' | 'Running' = 'Starting';

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      try {
        const body = await readBody(req, maxBody);
        if (url.pathname.toLowerCase() !== HOST_STATUS_PATH) {
          await started.catch((err: Error) => {
            throw new HttpError(503, `The host did not start: ${err.message}`);
          });
        }
        if (url.pathname.toLowerCase() === EVENT_GRID_WEBHOOK_PATH) return await eventGrid.handle(req, res, url, body);
        const handler = routeHandlers.find((h) => url.pathname.toLowerCase().startsWith(h.prefix.toLowerCase()));
        if (handler) return await handler.handle(req, res, body);
        if (url.pathname.toLowerCase().startsWith('/admin/')) return await handleAdmin(req, res, url, body);
        if (httpTriggers.owns(url.pathname)) return await httpTriggers.handle(req, res, url, body);
        throw new HttpError(404, `Nothing is served at ${url.pathname}. HTTP functions live under /${routePrefix}/.`);
      } catch (err) {
        if (err instanceof HttpError) return sendError(res, err.status, err.message, err.headers);
        logger({ level: 'error', category: 'host', message: `Request ${req.method} ${url.pathname} failed: ${(err as Error).stack ?? err}` });
        sendError(res, 500, 'The host failed to process the request; see the host log.');
      }
    })();
  });
  server.keepAliveTimeout = 5000;

  async function handleAdmin(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): Promise<void> {
    const p = url.pathname.toLowerCase();
    if (p === HOST_STATUS_PATH && req.method === 'GET') {
      return sendJson(res, 200, { id: 'batchpilot-local-host', state, version: LOCAL_HOST_VERSION, processUptime: Math.round(process.uptime() * 1000) });
    }
    const given = keyGivenIn(req, url);
    if (!keys.authorizes('admin', '', given)) throw new HttpError(401, 'Admin routes need the master key (x-functions-key header).');
    // Tests wait for this before asserting that nothing more happened (test/support/testStack.ts, quiesce).
    if (p === '/admin/durable/idle' && req.method === 'GET') {
      if (!durable) throw new HttpError(404, 'This app does not use Durable Functions.');
      return sendJson(res, 200, { idle: await durable.idle() });
    }
    if (p === '/admin/functions' && req.method === 'GET') {
      return sendJson(res, 200, app.list().map((f) => ({ name: f.name, trigger: f.triggerType, bindings: f.bindings })));
    }
    const run = /^\/admin\/functions\/([^/]+)$/.exec(url.pathname);
    if (run && req.method === 'POST') {
      const name = decodeURIComponent(run[1]);
      const fn = app.get(name);
      if (!fn) throw new HttpError(404, `The function '${name}' does not exist.`);
      if (fn.triggerType === 'timertrigger') {
        void timers.runNow(fn.name);
        res.writeHead(202);
        return void res.end();
      }
      if (fn.triggerType === 'httptrigger' || DURABLE_TRIGGER_TYPES.has(fn.triggerType)) throw new HttpError(400, `The function '${name}' is ${fn.triggerType}; call it through its own trigger.`);
      let input: unknown = '';
      if (body.length) {
        try {
          input = (JSON.parse(body.toString('utf8')) as { input?: unknown }).input ?? '';
        } catch {
          throw new HttpError(400, 'The body must be JSON: {"input": "..."}');
        }
      }
      void app.invoke(fn.name, { inputData: [{ name: fn.triggerName, data: { string: typeof input === 'string' ? input : JSON.stringify(input) } }] });
      res.writeHead(202);
      return void res.end();
    }
    throw new HttpError(404, `No admin route ${req.method} ${url.pathname}.`);
  }

  const closeServer = (): Promise<void> =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`Port ${options.port ?? DEFAULT_LOCAL_HOST_PORT} is in use; pass --port N (0 picks a free port).`) : err),
    );
    server.listen(options.port ?? DEFAULT_LOCAL_HOST_PORT, options.hostname ?? '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  const url = `http://${options.hostname ?? '127.0.0.1'}:${port}`;
  durable?.setBaseUrl(url);
  try {
    await app.runAppStartHooks();
    await durable?.start();
  } catch (err) {
    failedToStart(err as Error);
    await closeServer();
    throw err;
  }
  state = 'Running';
  opened();
  await timers.start();
  await queueTriggers.start();
  await blobTriggers.start();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await timers.stop();
      await blobTriggers.stop();
      await queueTriggers.stop();
      await closeServer();
      await durable?.stop();
      await app.runAppTerminateHooks();
    })());

  return { url, port, app, keys, httpTriggers, eventGrid, timers, queueTriggers, blobTriggers, durable, stop };
}
