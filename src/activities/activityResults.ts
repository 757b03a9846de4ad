// Activities report permanent failures as results (so Durable's retry policy does not retry what
// cannot succeed) and throw transient ones (so it does). Logged once, with the class.
import type { InvocationContext } from '@azure/functions';
import type { ActivityResult } from './contracts';
import { classifyAzureError } from '../azure/errorClassification';

export async function asActivityResult<T>(context: InvocationContext, runId: string | undefined, doing: string, work: () => Promise<T>): Promise<ActivityResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    const c = classifyAzureError(err);
    const line = { runId, activity: context.functionName, failureClass: c.failureClass, statusCode: c.statusCode, code: c.code, message: `${doing}: ${c.message}` };
    if (c.failureClass === 'transient') {
      context.warn(JSON.stringify({ ...line, retrying: true }));
      throw err;
    }
    context.error(JSON.stringify(line));
    return { ok: false, failureClass: 'permanent', message: c.message, code: c.code };
  }
}
