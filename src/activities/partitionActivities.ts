// Coalescing steps: read a partition's open arrivals, close a batch (idempotently), and start the
// batch's scoring run exactly once.
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { asActivityResult } from './activityResults';
import type { ActivityResult, ClosedBatch, ClosePartitionBatchInput, PartitionSnapshot, PeekPartitionInput, StartScoringRunInput } from './contracts';
import { closeBatch, readOpenPartition } from '../azure/arrivalLedger';
import { startRunOnce } from '../events/runStarter';

export async function peekPartition(input: PeekPartitionInput, context: InvocationContext): Promise<ActivityResult<PartitionSnapshot>> {
  return asActivityResult(context, undefined, `Reading partition ${input.routeName}/${input.partition}`, async () => {
    const open = await readOpenPartition(input.routeName, input.partition);
    const times = open.inputs.map((a) => a.arrivedAt).sort();
    const marker = open.markers[0];
    return {
      pending: open.inputs.length,
      firstArrivalAt: times[0],
      lastArrivalAt: times.at(-1),
      markerSeen: open.markers.length > 0,
      markerUrl: marker?.url,
      markerArrivedAt: marker?.arrivedAt,
      nextBatchNumber: open.nextBatchNumber,
    };
  });
}

export async function closePartitionBatch(input: ClosePartitionBatchInput, context: InvocationContext): Promise<ActivityResult<ClosedBatch>> {
  return asActivityResult(context, input.runId, `Closing batch ${input.batchNumber} of ${input.routeName}/${input.partition}`, async () => {
    const taken = await closeBatch(input.routeName, input.partition, input.batchNumber, input.runId, input.upTo);
    const files = taken.filter((a) => a.role === 'input').map((a) => ({ url: a.url, blobPath: a.blobPath, eTag: a.eTag, contentLength: a.contentLength })).sort((a, b) => a.blobPath.localeCompare(b.blobPath));
    const marker = taken.find((a) => a.role === 'marker');
    context.log(JSON.stringify({ runId: input.runId, message: `Closed batch ${input.batchNumber} with ${files.length} file(s)${marker ? ' and its marker' : ''}.` }));
    return { batchNumber: input.batchNumber, runId: input.runId, files, markerUrl: marker?.url };
  });
}

export async function startScoringRun(input: StartScoringRunInput, context: InvocationContext): Promise<ActivityResult<{ started: boolean }>> {
  return asActivityResult(context, input.runId, `Starting run ${input.runId}`, async () => {
    const client = df.getClient(context);
    return { started: await startRunOnce(client, input.orchestration, input.runId, input.input, context) };
  });
}
