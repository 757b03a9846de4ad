// Lets an in-process Azure SDK client trust the local development CA. NODE_EXTRA_CA_CERTS is read
// only when Node starts, and the SDK's Node HTTP client builds its own https agents (so
// https.globalAgent's options are not consulted): the dependable way in is a pipeline policy that
// hands each request an agent whose `ca` includes the local CA.
import * as https from 'node:https';
import * as tls from 'node:tls';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';

/** An https agent trusting the public roots plus `caPem`. */
export function agentTrusting(caPem: string): https.Agent {
  return new https.Agent({ keepAlive: true, ca: [...tls.rootCertificates, caPem] });
}

export function localCaTrustPolicy(caPem: string, agent: https.Agent = agentTrusting(caPem)): PipelinePolicy {
  return {
    name: 'localCaTrustPolicy',
    sendRequest: (request, next) => {
      if (request.url.startsWith('https:')) request.agent = agent;
      return next(request);
    },
  };
}

/** Client options for `@azure/*` clients: `{ ...clientOptionsTrusting(ca), endpoint, ... }`. */
export function clientOptionsTrusting(caPem: string): { additionalPolicies: Array<{ policy: PipelinePolicy; position: 'perCall' }> } {
  return { additionalPolicies: [{ policy: localCaTrustPolicy(caPem), position: 'perCall' }] };
}
