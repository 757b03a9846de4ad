// Serves the dashboard from the app package itself (no CDN, no internet): the page, its stylesheet and
// its script, with a strict Content-Security-Policy (same-origin only, no inline script), ETags, and
// no data: the page is public, everything it shows comes from the key-protected operator API.
import { createHash } from 'node:crypto';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { dashboardHtml } from './dashboardPage';
import { DASHBOARD_CSS } from './dashboardStyles';
import { dashboardMain } from './dashboardScript';

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

interface Asset {
  body: string;
  contentType: string;
  etag: string;
}

function asset(body: string, contentType: string): Asset {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 20)}"` };
}

let cached: { script: Asset; styles: Asset; version: string } | undefined;

function staticAssets(): { script: Asset; styles: Asset; version: string } {
  if (!cached) {
    // The compiled function's own text: typed and linted with the app, run as is by the browser.
    const script = asset(`"use strict";\n(${dashboardMain.toString()})(window, document);\n`, 'text/javascript; charset=utf-8');
    const styles = asset(DASHBOARD_CSS, 'text/css; charset=utf-8');
    cached = { script, styles, version: createHash('sha256').update(script.etag + styles.etag).digest('hex').slice(0, 12) };
  }
  return cached;
}

function reply(request: HttpRequest, a: Asset, cacheControl: string): HttpResponseInit {
  const headers = { ...SECURITY_HEADERS, 'content-type': a.contentType, etag: a.etag, 'cache-control': cacheControl };
  if (request.headers.get('if-none-match') === a.etag) return { status: 304, headers };
  return { status: 200, body: request.method === 'HEAD' ? undefined : a.body, headers };
}

/** `GET .../ops/dashboard/{*asset}`: the page for `` or `index.html`, then `dashboard.js` and `dashboard.css`. */
export function serveDashboard(request: HttpRequest): HttpResponseInit {
  const name = (request.params.asset ?? '').replace(/^\/+|\/+$/g, '');
  const { script, styles, version } = staticAssets();
  switch (name) {
    case '':
    case 'index.html': {
      const path = new URL(request.url).pathname.replace(/\/index\.html$/, '').replace(/\/+$/, '');
      const apiBase = path.replace(/\/dashboard$/i, '');
      return reply(request, asset(dashboardHtml(path, apiBase, version), 'text/html; charset=utf-8'), 'no-cache');
    }
    case 'dashboard.js':
      return reply(request, script, 'public, max-age=3600');
    case 'dashboard.css':
      return reply(request, styles, 'public, max-age=3600');
    default:
      return { status: 404, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }, body: `No dashboard asset '${name}'. Open the dashboard at its folder: .../ops/dashboard/` };
  }
}
