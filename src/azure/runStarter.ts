// Starting a run exactly once for a deterministic instance ID: an existing instance (in any state)
// means a duplicate or repeated delivery, which starts nothing new.
import type { DurableClient } from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { indexRunStarting } from '../activities/runIndexActivities';

function httpStatusIn(err: unknown): number | undefined {
  const m = /HTTP (\d{3}) response|status code: (\d{3})/.exec((err as Error)?.message ?? '');
  return m ? Number(m[1] ?? m[2]) : undefined;
}

export async function instanceExists(client: DurableClient, instanceId: string): Promise<boolean> {
  try {
    await client.getStatus(instanceId, { showHistory: false, showInput: false });
    return true;
  } catch (err) {
    if (httpStatusIn(err) === 404) return false;
    throw err;
  }
}

/** Returns true when this call started the instance, false when it already existed. */
export async function startRunOnce(client: DurableClient, orchestration: string, instanceId: string, input: unknown, context: InvocationContext): Promise<boolean> {
  if (await instanceExists(client, instanceId)) {
    context.log(JSON.stringify({ runId: instanceId, message: 'Run already exists: duplicate delivery, nothing started.' }));
    return false;
  }
  // Before the start, so the orchestration's own first write always comes after it.
  await indexRunStarting(orchestration, instanceId, input, context);
  try {
    await client.startNew(orchestration, { instanceId, input });
  } catch (err) {
    if (httpStatusIn(err) === 409) {
      context.log(JSON.stringify({ runId: instanceId, message: 'Run was started concurrently by another delivery.' }));
      return false;
    }
    throw err;
  }
  context.log(JSON.stringify({ runId: instanceId, message: `Started ${orchestration}.` }));
  return true;
}

/** Wakes an eternal instance, (re)starting it when it does not exist or is no longer running. */
export async function wakeOrStart(client: DurableClient, orchestration: string, instanceId: string, eventName: string, input: unknown, eventData: unknown = {}): Promise<'woken' | 'started'> {
  let running = false;
  try {
    const status = await client.getStatus(instanceId, { showHistory: false, showInput: false });
    running = ['Running', 'Pending', 'ContinuedAsNew', 'Suspended'].includes(String(status.runtimeStatus));
  } catch (err) {
    if (httpStatusIn(err) !== 404) throw err;
  }
  if (running) {
    await client.raiseEvent(instanceId, eventName, eventData);
    return 'woken';
  }
  try {
    await client.startNew(orchestration, { instanceId, input });
    return 'started';
  } catch (err) {
    if (httpStatusIn(err) !== 409) throw err;
    await client.raiseEvent(instanceId, eventName, eventData);
    return 'woken';
  }
}
