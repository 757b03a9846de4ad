// The local stand-in for Azure ML Studio's job page: the link every job carries in
// `services.Studio.endpoint` opens a read-only page with the job's status timeline, settings,
// inputs, outputs, mini-batch counters and failure reason.
import type { EmulatorServices, HttpReply } from './emulatorServices';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

export function renderJobPage(services: EmulatorServices, url: URL): HttpReply {
  const match = /^\/studio\/runs\/([^/]+)$/.exec(url.pathname);
  const job = match ? services.store.jobs.get(decodeURIComponent(match[1])) : undefined;
  if (!job) {
    return { status: 404, text: '<!doctype html><title>Job not found</title><p>No such job in this workspace.</p>', contentType: 'text/html; charset=utf-8' };
  }
  const rows = (pairs: Array<[string, string]>): string =>
    pairs.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const timeline = job.statusHistory.map((s) => `<li><time>${escapeHtml(s.at)}</time> ${escapeHtml(s.status)}</li>`).join('');
  const c = job.counters;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(job.name)} · ${escapeHtml(job.status)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:60rem}th{text-align:left;padding-right:1rem;vertical-align:top}pre{white-space:pre-wrap}</style></head>
<body><h1>${escapeHtml(job.name)}</h1>
<p>Batch endpoint <b>${escapeHtml(job.endpointName)}</b>, deployment <b>${escapeHtml(job.deploymentName)}</b> — status <b>${escapeHtml(job.status)}</b></p>
<h2>Timeline</h2><ol>${timeline}</ol>
<h2>Settings</h2><table>${rows(Object.entries(job.settings).map(([k, v]) => [k, String(v)]))}</table>
<h2>Inputs</h2><table>${rows(Object.entries(job.inputs).map(([k, v]) => [k, v.kind === 'literal' ? `literal: ${v.value}` : `${v.kind}: ${v.uri}`]))}</table>
<h2>Outputs</h2><table>${rows(Object.entries(job.outputs).map(([k, v]) => [k, `${v.kind}: ${v.uri}`]))}</table>
${c ? `<h2>Progress</h2><table>${rows([
    ['input files', String(c.inputFiles)], ['mini-batches', `${c.miniBatches} (succeeded ${c.miniBatchesSucceeded}, failed ${c.miniBatchesFailed})`],
    ['attempts', String(c.attempts)], ['concurrency', `${c.concurrency} (peak ${c.peakConcurrentMiniBatches})`],
    ['rows written', String(c.rowsWritten)], ['failed files', c.failedFiles.join(', ') || 'none'],
  ])}</table>` : ''}
${job.failureReason ? `<h2>Failure</h2><pre>${escapeHtml(job.failureReason)}</pre>` : ''}
<h2>Tags</h2><table>${rows(Object.entries(job.tags))}</table>
</body></html>`;
  return { status: 200, text: html, contentType: 'text/html; charset=utf-8' };
}
