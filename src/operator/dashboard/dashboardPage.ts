// The dashboard's one HTML page: a shell the script fills (run list, run page, route health, audit trail), plus the
// confirmation dialog every change goes through. Asset and API paths are filled in per request from
// where the page was served, so it works under any route prefix.

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

export function dashboardHtml(assetBase: string, apiBase: string, version: string): string {
  const base = escapeAttribute(assetBase);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="batchpilot-api" content="${escapeAttribute(apiBase)}">
<title>batchpilot · runs</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/dashboard.css?v=${version}">
<script src="${base}/dashboard.js?v=${version}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <p class="brand"><a href="#/">batchpilot</a> <span>operator dashboard</span></p>
  <nav aria-label="Sections"><a href="#/">Runs</a><a href="#/health">Route health</a><a href="#/audit">Audit trail</a></nav>
  <p id="caller" aria-live="polite"></p>
</header>
<main id="main" tabindex="-1"><noscript>The dashboard needs JavaScript.</noscript><p class="muted">Loading…</p></main>
<div id="toast" role="status" aria-live="polite"></div>
<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
  <form method="dialog">
    <h2 id="confirm-title">Confirm</h2>
    <p id="confirm-text"></p>
    <label for="confirm-reason">Reason <span class="muted">(kept in the audit record)</span></label>
    <textarea id="confirm-reason" name="reason" rows="3" maxlength="1000" required></textarea>
    <label for="confirm-actor">Your name <span class="muted">(optional, recorded as given)</span></label>
    <input id="confirm-actor" name="actor" autocomplete="name" maxlength="200">
    <div class="buttons">
      <button type="submit" value="cancel" formnovalidate>Cancel</button>
      <button type="submit" value="ok" id="confirm-ok" class="danger">Confirm</button>
    </div>
  </form>
</dialog>
</body>
</html>
`;
}
