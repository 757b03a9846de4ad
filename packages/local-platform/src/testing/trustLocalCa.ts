// Makes in-process clients trust the local development CA that the emulators' certificates chain to.
// Setting NODE_EXTRA_CA_CERTS after Node has started does nothing, and the Azure SDK's Node HTTP
// client creates its own https agents, so SDK clients get a pipeline policy that sets a trusting
// agent on each request, and plain requests pass the CA themselves.
import * as https from 'node:https';
import { agentTrusting, clientOptionsTrusting, localCaTrustPolicy } from '../tls/localCaTrust';

export { agentTrusting, clientOptionsTrusting, localCaTrustPolicy };

export interface PlainResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
}

/** One https request trusting `ca`, without any retry: for asserting exact status codes. */
export async function requestTrusting(ca: string, url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<PlainResponse> {
  const agent = agentTrusting(ca);
  try {
    return await new Promise<PlainResponse>((resolve, reject) => {
      const req = https.request(url, { method: init.method ?? 'GET', headers: init.headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? (JSON.parse(text) as unknown) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(init.body);
    });
  } finally {
    agent.destroy();
  }
}
