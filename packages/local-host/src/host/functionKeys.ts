// Function and host keys for the local host, as the Functions host keeps them: a master key, a default
// host key, per-function default keys, and system keys for extension webhooks (Event Grid, Durable).
// Generated once per app folder into a git-ignored file, so URLs handed out stay valid across restarts.
import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { headerValue } from './httpExchange';

export interface FunctionKeys {
  masterKey: string;
  hostKeys: Record<string, string>;
  functionKeys: Record<string, Record<string, string>>;
  systemKeys: Record<string, string>;
}

export type AuthLevel = 'anonymous' | 'function' | 'admin';

/** The system key that opens the Durable extension's management routes (/runtime/webhooks/durabletask/). */
export const DURABLE_TASK_SYSTEM_KEY = 'durabletask_extension';

/** The key a caller gives, as the Functions host reads it: the x-functions-key header, else the code query parameter. */
export function keyGivenIn(req: IncomingMessage, url: URL): string | undefined {
  return headerValue(req, 'x-functions-key') ?? url.searchParams.get('code') ?? undefined;
}

function newKey(): string {
  return randomBytes(30).toString('base64url') + '==';
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class FunctionKeyStore {
  constructor(readonly file: string, private keys: FunctionKeys) {}

  static open(file: string, functionNames: string[], systemKeyNames: string[] = ['eventgrid_extension', DURABLE_TASK_SYSTEM_KEY]): FunctionKeyStore {
    let keys: FunctionKeys = { masterKey: newKey(), hostKeys: { default: newKey() }, functionKeys: {}, systemKeys: {} };
    if (fs.existsSync(file)) {
      try {
        keys = { ...keys, ...(JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<FunctionKeys>) };
      } catch {
        // A damaged keys file is replaced: keys are local and regenerable.
      }
    }
    let changed = !fs.existsSync(file);
    for (const name of functionNames) {
      const k = name.toLowerCase();
      if (!keys.functionKeys[k]?.default) {
        keys.functionKeys[k] = { ...(keys.functionKeys[k] ?? {}), default: newKey() };
        changed = true;
      }
    }
    for (const name of systemKeyNames) {
      if (!keys.systemKeys[name]) {
        keys.systemKeys[name] = newKey();
        changed = true;
      }
    }
    if (changed) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
    }
    return new FunctionKeyStore(file, keys);
  }

  get all(): FunctionKeys {
    return this.keys;
  }

  functionKey(functionName: string): string {
    return this.keys.functionKeys[functionName.toLowerCase()]?.default ?? '';
  }

  systemKey(name: string): string {
    return this.keys.systemKeys[name] ?? '';
  }

  /** Whether `given` (x-functions-key header or `code` query) opens a function at `level`. */
  authorizes(level: AuthLevel, functionName: string, given: string | undefined): boolean {
    if (level === 'anonymous') return true;
    if (!given) return false;
    if (same(given, this.keys.masterKey)) return true;
    if (level === 'admin') return false;
    if (Object.values(this.keys.hostKeys).some((k) => same(given, k))) return true;
    return Object.values(this.keys.functionKeys[functionName.toLowerCase()] ?? {}).some((k) => same(given, k));
  }

  authorizesSystem(name: string, given: string | undefined): boolean {
    if (!given) return false;
    if (same(given, this.keys.masterKey)) return true;
    const key = this.keys.systemKeys[name];
    return !!key && same(given, key);
  }
}
