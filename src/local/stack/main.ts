// `npm start`: brings up the whole local stack, runs the demo (see demo.ts) and prints the outcome. The stack then stays up for exploring until Ctrl-C (`--demo-only` exits; `--verbose` prints the host's log).
import { startLocalStack, EVENTS_TOPIC } from './localStack';
import { describeDemoOutcome, runDemo } from './demo';

function say(line = ''): void {
  process.stdout.write(line + '\n');
}

async function main(): Promise<void> {
  const demoOnly = process.argv.includes('--demo-only');
  say('Starting the batchpilot local stack (Azurite, Event Grid and Azure ML emulators, Functions host)...');
  const verbose = process.argv.includes('--verbose');
  const stack = await startLocalStack({ log: (m) => say(`  ${m}`), onHostLog: verbose ? (line) => say(`  host: ${line}`) : undefined });
  const stop = async (): Promise<void> => {
    say('Stopping the local stack...');
    await stack.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  say();
  say(`Functions host:          ${stack.hostUrl}  (functions: ${stack.hostUrl}/admin/functions with the master key in .local/host/keys.json)`);
  say(`Storage (raises events): ${stack.eventGrid.blobProxyUrl}  — UseDevelopmentStorage=true reaches it`);
  say(`Event Grid emulator:     ${stack.eventGrid.baseUrl}/admin/topics  (events of topic ${EVENTS_TOPIC}: ${stack.eventGrid.baseUrl}/admin/topics/${EVENTS_TOPIC}/events)`);
  say(`Azure ML emulator:       ${stack.azureMl.armBaseUrl}  workspace ${stack.azureMl.workspaceId}`);
  say(`Sample batch endpoint:   ${stack.sample.scoringUri}  (default deployment ${stack.sample.defaultDeploymentName})`);
  say(`Routes file:             ${stack.routesFile}`);
  say();
  say('Demo: score a folder of customer files as one batch job.');
  try {
    const result = await runDemo(stack);
    say();
    for (const line of describeDemoOutcome(result)) say(line);
    if (result.data.outcome !== 'Completed') process.exitCode = 1;
  } catch (err) {
    say(`Demo failed: ${(err as Error).message}`);
    process.exitCode = 1;
  }
  if (demoOnly) return stop();
  say();
  say('The stack stays up: drop CSVs into input/demo/<folder>/ then a _SUCCESS marker, or one file into input/single/. Ctrl-C stops.');
}

main().catch((err: Error) => {
  process.stderr.write(`The local stack could not start: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
