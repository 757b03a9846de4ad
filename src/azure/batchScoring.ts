// Invoking a batch endpoint through its scoring URI (the batch data plane): a bearer token for
// https://ml.azure.com, the job body in the data plane's camelCase shape, and the
// `azureml-model-deployment` header to pick a deployment other than the default.
import type { TokenCredential } from '@azure/core-auth';
import { ML_DATA_PLANE_SCOPE } from './credentials';
import { PermanentError, retryAfterFromHeaders, TransientError, isTransientStatus } from './errorClassification';

export type JobInputSpec =
  | { jobInputType: 'UriFile' | 'UriFolder' | 'MLTable'; uri: string; mode?: string }
  | { jobInputType: 'Literal'; value: string };

export interface BatchJobRequest {
  inputData: Record<string, JobInputSpec>;
  outputData?: Record<string, { jobOutputType: 'UriFolder' | 'UriFile'; uri: string; mode?: string }>;
  tags?: Record<string, string>;
  compute?: { instanceCount?: number };
  miniBatchSize?: number;
  errorThreshold?: number;
  retrySettings?: { maxRetries?: number; timeout?: string };
  outputFileName?: string;
  description?: string;
}

export interface InvokeBatchEndpointOptions {
  credential: TokenCredential;
  /** Deployment to use instead of the endpoint's default. */
  deploymentName?: string;
  abortSignal?: AbortSignal;
}

export interface SubmittedJob {
  name: string;
  id?: string;
  status?: string;
}

export async function invokeBatchEndpoint(scoringUri: string, request: BatchJobRequest, options: InvokeBatchEndpointOptions): Promise<SubmittedJob> {
  const token = await options.credential.getToken(ML_DATA_PLANE_SCOPE, { abortSignal: options.abortSignal });
  if (!token) throw new PermanentError(`No access token for ${ML_DATA_PLANE_SCOPE}: check the app's identity.`);
  const headers: Record<string, string> = { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' };
  if (options.deploymentName) headers['azureml-model-deployment'] = options.deploymentName;
  let res: Response;
  try {
    res = await fetch(scoringUri, { method: 'POST', headers, body: JSON.stringify({ properties: request }), signal: options.abortSignal });
  } catch (err) {
    throw new TransientError(`Invoking batch endpoint ${scoringUri} failed before a response: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause?: Error }).cause?.message})` : ''}`);
  }
  const text = await res.text();
  let body: { name?: string; id?: string; properties?: { status?: string }; error?: { code?: string; message?: string } } = {};
  try {
    body = text ? (JSON.parse(text) as typeof body) : {};
  } catch {
    // Non-JSON bodies are reported as text below.
  }
  if (!res.ok) {
    const message = `Invoking batch endpoint ${scoringUri}${options.deploymentName ? ` (deployment ${options.deploymentName})` : ''} returned ${res.status}${body.error?.code ? ` ${body.error.code}` : ''}: ${body.error?.message ?? text.slice(0, 500)}`;
    const details = { statusCode: res.status, code: body.error?.code, retryAfterInMs: retryAfterFromHeaders((n) => res.headers.get(n)) };
    throw isTransientStatus(res.status) ? new TransientError(message, details) : new PermanentError(message, details);
  }
  if (!body.name) throw new PermanentError(`Batch endpoint ${scoringUri} accepted the job but returned no job name.`);
  return { name: body.name, id: body.id, status: body.properties?.status };
}
