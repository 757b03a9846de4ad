// Recording a finished run's measurements: kept in the measurements table (route health, drift
// baselines) and sent to Application Insights when the app has it. Called once per run as it ends,
// off the critical path: a failure is logged by the orchestration and the run goes on.
import type { InvocationContext } from '@azure/functions';
import { asActivityResult } from './activityResults';
import type { ActivityResult } from './contracts';
import type { RunMeasurements } from '../domain/runMeasurements';
import { appRunMeasurements } from '../azure/runMeasurementStore';
import { emitRunMeasurements } from '../azure/runTelemetry';
import { appRoutes } from '../config/runtimeConfig';

export async function recordRunMeasurements(input: RunMeasurements, context: InvocationContext): Promise<ActivityResult<{ recorded: true }>> {
  return asActivityResult(context, input.runId, 'Recording the run\'s measurements', async () => {
    await (await appRunMeasurements()).record(input);
    // After the table: a retried activity may send the metrics twice, but never sends them for a run it could not keep.
    emitRunMeasurements(input, appRoutes().routes.find((r) => r.name === input.route)?.slo?.successRate);
    return { recorded: true as const };
  });
}
