// The local durable engine's entry point for the local host (src/host/cli.ts requires
// '../durable' and calls createDurableEngine): one engine per task hub, its RPC routes and the
// `durableClient` binding provider.
import type { DurableEngineFactoryArgs, DurableEngineHandle } from '../host/contracts';
import { DurableEngine, EngineObserver } from './durableEngine';
import { DurableClientRoutes } from './clientRoutes';
import { durableClientBindingProvider } from './durableClientBinding';
import { ManagementUrlBuilder } from './managementUrls';

export { DurableEngine } from './durableEngine';
export type { EngineObserver, DurableEngineOptions } from './durableEngine';
export { DURABLE_TASK_ROUTE_PREFIX } from './managementUrls';

export interface LocalDurableEngine extends DurableEngineHandle {
  engine: DurableEngine;
}

export function createDurableEngine(args: DurableEngineFactoryArgs & { observer?: EngineObserver }): LocalDurableEngine {
  const engine = new DurableEngine({
    invoker: args.invoker,
    connectionString: args.connectionString,
    taskHubName: args.taskHubName,
    maxConcurrentActivityFunctions: args.maxConcurrentActivityFunctions,
    maxConcurrentOrchestratorFunctions: args.maxConcurrentOrchestratorFunctions,
    log: args.log,
    observer: args.observer,
  });
  let urls = new ManagementUrlBuilder('http://127.0.0.1:7071', args.taskHubName, args.systemKey);
  return {
    engine,
    routeHandler: new DurableClientRoutes(engine, () => urls, args.authorizesKey),
    durableClientProvider: durableClientBindingProvider(() => urls),
    setBaseUrl(url: string): void {
      urls = new ManagementUrlBuilder(url, args.taskHubName, args.systemKey);
      // durable-functions rewrites management URLs to http://localhost:7071 unless WEBSITE_HOSTNAME
      // names the site, as Core Tools sets it; point it at this host.
      if (!process.env.WEBSITE_HOSTNAME) process.env.WEBSITE_HOSTNAME = new URL(url).host;
    },
    start: () => engine.start(),
    stop: () => engine.stop(),
    async idle() {
      await engine.settle();
      return !engine.busy;
    },
  };
}
