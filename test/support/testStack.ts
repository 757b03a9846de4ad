// The local stack as end-to-end suites start it: free ports, the run's shared Azurite, a fresh state
// folder and a task hub of the suite's own; and an ARM client for the stack's Azure ML emulator.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import { startLocalStack, RunningLocalStack, FREE_PORTS, LocalStackOptions } from '../../src/local/stack/localStack';
import { testAzurite, uniqueName } from './azurite';
import { armClientFor as stackArmClientFor } from '../../src/local/stack/stackClients';

export async function startTestStack(routesYaml: string, options: Partial<LocalStackOptions> = {}): Promise<RunningLocalStack> {
  return startLocalStack({
    ports: FREE_PORTS,
    azurite: testAzurite(),
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'batchpilot-stack-')),
    routesYaml,
    taskHub: uniqueName('hub'),
    persistAzurite: false,
    ...options,
  });
}

export function armClientFor(stack: RunningLocalStack): AzureMachineLearningWorkspaces {
  return stackArmClientFor(stack);
}

/** The messages of the stack's host log lines (JSON lines parsed; anything else as it is). */
export function hostLogMessages(stack: RunningLocalStack): string[] {
  return (stack.host?.logs ?? []).map((l) => {
    try {
      return String((JSON.parse(l) as { message?: unknown }).message ?? l);
    } catch {
      return l;
    }
  });
}
