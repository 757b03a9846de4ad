// Entity-group transactions for the durable engine's busiest writes (the commit journal, instance rows,
// rows written ahead), built and sent as one request each. The SDK's submitTransaction runs every
// operation through its whole request pipeline (serialiser, policies, tracing) before sending them
// together, which costs the engine more per row than Azurite spends storing it; here an operation
// costs its JSON. The wire format and the Shared Key Lite signature are the SDK's (a $batch request
// with one changeset). Connections without an account key (SAS, identity) use the SDK.
import * as http from 'node:http';
import * as https from 'node:https';
import { createHmac, randomUUID } from 'node:crypto';
import type { TableClient, TransactionAction } from '@azure/data-tables';

const SERVICE_VERSION = '2019-02-02';
const CRLF = '\r\n';
/** Azurite's single account and its published development key (not a secret), for UseDevelopmentStorage=true. */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** A failed transaction, shaped like the SDK's RestError where the engine looks (statusCode, code). */
export class TableTransactionError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'TableTransactionError';
  }
}

interface SharedKeyEndpoint {
  /** Table service endpoint without a trailing slash, e.g. http://127.0.0.1:10002/devstoreaccount1 */
  endpoint: URL;
  account: string;
  key: Buffer;
}

/** The table endpoint and account key of a connection string, or undefined when it carries no key. */
export function sharedKeyEndpoint(connectionString: string): SharedKeyEndpoint | undefined {
  const parts = new Map<string, string>();
  for (const piece of connectionString.split(';')) {
    const at = piece.indexOf('=');
    if (at > 0) parts.set(piece.slice(0, at).trim().toLowerCase(), piece.slice(at + 1).trim());
  }
  if (parts.get('usedevelopmentstorage') === 'true') {
    const proxy = parts.get('developmentstorageproxyuri') ?? 'http://127.0.0.1';
    return { endpoint: new URL(`${proxy.replace(/\/+$/, '')}:10002/${DEV_ACCOUNT}`), account: DEV_ACCOUNT, key: Buffer.from(DEV_KEY, 'base64') };
  }
  const account = parts.get('accountname');
  const key = parts.get('accountkey');
  if (!account || !key) return undefined;
  const explicit = parts.get('tableendpoint');
  const endpoint = explicit ?? `${parts.get('defaultendpointsprotocol') ?? 'https'}://${account}.table.${parts.get('endpointsuffix') ?? 'core.windows.net'}`;
  return { endpoint: new URL(endpoint.replace(/\/+$/, '')), account, key: Buffer.from(key, 'base64') };
}

function entityJson(entity: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(entity)) {
    if (value === undefined) continue;
    const key = name === 'partitionKey' ? 'PartitionKey' : name === 'rowKey' ? 'RowKey' : name;
    if (value instanceof Date) {
      out[key] = value.toISOString();
      out[`${key}@odata.type`] = 'Edm.DateTime';
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out[key] = value;
    } else {
      throw new TypeError(`Property '${name}' holds a ${typeof value}; the engine's transactions carry strings, numbers, booleans and dates.`);
    }
  }
  return JSON.stringify(out);
}

function keyLiteral(value: string): string {
  return encodeURIComponent(value.replace(/'/g, "''"));
}

export class TableTransactions {
  readonly #target: SharedKeyEndpoint | undefined;
  readonly #agent: http.Agent;

  constructor(connectionString: string) {
    this.#target = sharedKeyEndpoint(connectionString);
    const secure = this.#target?.endpoint.protocol === 'https:';
    this.#agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 16 }) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  /** Submits the actions (one partition) as one transaction of `table`. */
  async submit(table: TableClient, actions: TransactionAction[]): Promise<void> {
    if (actions.length === 0) return;
    if (!this.#target) {
      await table.submitTransaction(actions);
      return;
    }
    const { endpoint, account, key } = this.#target;
    const base = `${endpoint.href.replace(/\/+$/, '')}/${table.tableName}`;
    const batch = `batch_${randomUUID()}`;
    const changeset = `changeset_${randomUUID()}`;
    const parts: string[] = [`--${batch}${CRLF}content-type: multipart/mixed; boundary=${changeset}${CRLF}${CRLF}`];
    for (const action of actions) {
      const [kind, entity] = action;
      const at = `${base}(PartitionKey='${keyLiteral(entity.partitionKey)}',RowKey='${keyLiteral(entity.rowKey)}')`;
      const head = `--${changeset}${CRLF}content-type: application/http${CRLF}content-transfer-encoding: binary${CRLF}${CRLF}`;
      if (kind === 'delete') {
        parts.push(`${head}DELETE ${at} HTTP/1.1${CRLF}Accept: application/json;odata=minimalmetadata${CRLF}DataServiceVersion: 3.0${CRLF}If-Match: *${CRLF}${CRLF}`);
      } else if (kind === 'create') {
        parts.push(
          `${head}POST ${base} HTTP/1.1${CRLF}Content-Type: application/json;odata=nometadata${CRLF}Accept: application/json;odata=minimalmetadata${CRLF}` +
            `DataServiceVersion: 3.0${CRLF}Prefer: return-no-content${CRLF}${CRLF}${entityJson(entity)}`,
        );
      } else if (kind === 'upsert' && (action[2] ?? 'Merge') === 'Replace') {
        parts.push(`${head}PUT ${at} HTTP/1.1${CRLF}Content-Type: application/json${CRLF}DataServiceVersion: 3.0${CRLF}Accept: application/json${CRLF}${CRLF}${entityJson(entity)}`);
      } else {
        // Other kinds (merge, update) are not used on the engine's hot path.
        await table.submitTransaction(actions);
        return;
      }
    }
    const body = Buffer.from(`${parts.join(CRLF)}${CRLF}--${changeset}--${CRLF}--${batch}--${CRLF}`, 'utf8');
    const url = new URL(`${endpoint.href.replace(/\/+$/, '')}/$batch`);
    const date = new Date().toUTCString();
    const signature = createHmac('sha256', key).update(`${date}\n/${account}${url.pathname}`, 'utf8').digest('base64');
    const headers = {
      accept: 'application/json',
      'x-ms-version': SERVICE_VERSION,
      dataserviceversion: '3.0;',
      maxdataserviceversion: '3.0;NetFx',
      'content-type': `multipart/mixed; boundary=${batch}`,
      'x-ms-date': date,
      authorization: `SharedKeyLite ${account}:${signature}`,
      'content-length': String(body.length),
    };
    const { status, text } = await this.#post(url, headers, body);
    const failure = status >= 300 ? { status, text } : this.#failedOperation(text);
    if (failure) {
      let code: string | undefined;
      let message = `The table transaction on '${table.tableName}' failed with status ${failure.status}.`;
      const json = failure.text.match(/\{[\s\S]*\}/);
      if (json) {
        try {
          const error = (JSON.parse(json[0]) as { 'odata.error'?: { code?: string; message?: { value?: string } } })['odata.error'];
          code = error?.code;
          if (error?.message?.value) message = error.message.value;
        } catch {
          // Not JSON: keep the status.
        }
      }
      throw new TableTransactionError(message, failure.status, code);
    }
  }

  /** The first operation of a changeset response that failed (the service stops at it), if any. */
  #failedOperation(text: string): { status: number; text: string } | undefined {
    const re = /HTTP\/1\.1 (\d{3})/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const status = Number(m[1]);
      if (status >= 300) return { status, text: text.slice(m.index) };
    }
    return undefined;
  }

  #post(url: URL, headers: Record<string, string>, body: Buffer, retried = false): Promise<{ status: number; text: string }> {
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: 'POST', headers, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the server had just closed: the request never arrived, send it once more.
        if (!retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) resolve(this.#post(url, headers, body, true));
        else reject(err);
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
