// Fills `durableClient` input bindings (df.input.durableClient()) with the data the Durable extension
// gives the Node worker, so `df.getClient(context)` builds an unmodified DurableClient whose RPC calls
// and createCheckStatusResponse links reach this engine on the local host.
import type { InputBindingProvider, RegisteredFunction } from '../host/contracts';
import type { RpcTypedData } from '../host/functionsCoreTypes';
import type { ManagementUrlBuilder } from './managementUrls';

export function durableClientBindingProvider(urls: () => ManagementUrlBuilder): InputBindingProvider {
  return {
    type: 'durableclient',
    provide(_fn: RegisteredFunction, _bindingName: string, binding: Record<string, unknown>): RpcTypedData {
      // A binding may name another task hub; this host serves one, so the client talks to it anyway.
      const hub = typeof binding.taskHub === 'string' && binding.taskHub && !binding.taskHub.includes('%') ? binding.taskHub : undefined;
      return { string: urls().clientBindingJson(hub) };
    },
  };
}
