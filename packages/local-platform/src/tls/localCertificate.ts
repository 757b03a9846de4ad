// The local stack's TLS: Azure SDK clients refuse bearer tokens over plain http, so the emulators that
// take tokens (Azure ML, Event Grid) serve https with a certificate from a local CA made here. Processes
// that call them trust the CA through NODE_EXTRA_CA_CERTS. Nothing here is used in Azure.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface LocalCertificate {
  /** PEM of the local CA; point NODE_EXTRA_CA_CERTS at caPath. */
  caPath: string;
  ca: string;
  cert: string;
  key: string;
}

const VALIDITY_IN_DAYS = 365;
const RENEW_BEFORE_IN_MS = 7 * 24 * 3600 * 1000;

function stillValid(certPem: string): boolean {
  try {
    const { X509Certificate } = require('node:crypto') as typeof import('node:crypto');
    const x = new X509Certificate(certPem);
    return new Date(x.validTo).getTime() - Date.now() > RENEW_BEFORE_IN_MS;
  } catch {
    return false;
  }
}

/** Returns the certificate in `dir`, making a CA and a 127.0.0.1/localhost server certificate if absent or expiring. */
export async function ensureLocalCertificate(dir: string): Promise<LocalCertificate> {
  const caPath = path.join(dir, 'ca.pem');
  const certPath = path.join(dir, 'server.pem');
  const keyPath = path.join(dir, 'server.key');
  if ([caPath, certPath, keyPath].every((p) => fs.existsSync(p))) {
    const existing = { caPath, ca: fs.readFileSync(caPath, 'utf8'), cert: fs.readFileSync(certPath, 'utf8'), key: fs.readFileSync(keyPath, 'utf8') };
    if (stillValid(existing.cert) && stillValid(existing.ca)) return existing;
  }
  const selfsigned = require('selfsigned') as {
    generate(attrs: unknown, options: Record<string, unknown>): Promise<{ private: string; cert: string }>;
  };
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + VALIDITY_IN_DAYS * 24 * 3600 * 1000);
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'batchpilot local development CA' }], {
    keyType: 'ec', algorithm: 'sha256', notBeforeDate, notAfterDate,
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
  });
  const server = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec', algorithm: 'sha256', notBeforeDate, notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(caPath, ca.cert);
  fs.writeFileSync(certPath, server.cert);
  fs.writeFileSync(keyPath, server.private, { mode: 0o600 });
  return { caPath, ca: ca.cert, cert: server.cert, key: server.private };
}

/** Where the project keeps its local certificate (git-ignored). */
export function defaultCertificateDir(projectRoot: string): string {
  return path.join(projectRoot, '.local', 'tls');
}
