// The dashboard's stylesheet: system fonts, high-contrast status colours, visible focus, tables that
// scroll on small screens, and the timeline's bars. No external fonts or images.

export const DASHBOARD_CSS = `
:root {
  --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de; --link: #0550ae;
  --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --run: #0969da; --idle: #6e7781;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif; font-size: 15px; line-height: 1.45;
  color: var(--fg); background: var(--bg);
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9da7b3; --bg: #0d1117; --panel: #161b22; --line: #30363d; --link: #6cb6ff;
    --ok: #3fb950; --bad: #ff7b72; --warn: #d29922; --run: #58a6ff; --idle: #8b949e; }
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--link); }
:focus-visible { outline: 3px solid var(--run); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; z-index: 10; }
.top { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: center; padding: 10px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
.top p { margin: 0; }
.brand a { font-weight: 700; font-size: 1.15rem; text-decoration: none; color: var(--fg); }
.brand span { color: var(--muted); }
.top nav { display: flex; gap: 16px; }
#caller { margin-left: auto; color: var(--muted); font-size: 0.9rem; }
main { padding: 16px 20px 48px; max-width: 1400px; }
main:focus { outline: none; }
h1 { font-size: 1.4rem; margin: 4px 0 12px; word-break: break-all; }
h2 { font-size: 1.1rem; margin: 24px 0 8px; }
.muted { color: var(--muted); }
.row { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: flex-end; }
form.filters { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
label { display: block; font-size: 0.85rem; color: var(--muted); margin-bottom: 2px; }
input, select, textarea, button { font: inherit; color: inherit; }
input, select, textarea { background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 4px 6px; }
textarea { width: 100%; }
button { background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: 5px 12px; cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--run); }
button:disabled { opacity: 0.55; cursor: not-allowed; }
button.primary { background: var(--run); border-color: var(--run); color: #fff; }
button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
button.approve { background: var(--ok); border-color: var(--ok); color: #fff; }
.check { display: flex; gap: 6px; align-items: center; color: var(--fg); font-size: 0.95rem; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; padding: 0; list-style: none; }
.counts button { border-radius: 999px; padding: 2px 10px; }
.counts button[aria-pressed="true"] { border-color: var(--fg); font-weight: 600; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; white-space: nowrap; }
tr:last-child td { border-bottom: none; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85rem; word-break: break-all; }
tr.child td:first-child { padding-left: 28px; }
tr.failed td { background: color-mix(in srgb, var(--bad) 10%, transparent); }
.badge { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: 0.8rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.s-Completed, .s-Promoted, .s-completed { color: var(--ok); }
.s-Failed, .s-ValidationFailed, .s-Rejected, .s-failed, .s-Terminated, .s-terminated { color: var(--bad); }
.s-Running, .s-running, .s-Pending { color: var(--run); }
.s-AwaitingApproval, .s-waiting, .s-Suspended { color: var(--warn); }
.s-RolledBack { color: var(--idle); }
.callout { border: 1px solid var(--bad); border-left-width: 6px; border-radius: 6px; padding: 10px 14px; margin: 12px 0; background: color-mix(in srgb, var(--bad) 7%, transparent); }
.callout.pending { border-color: var(--warn); background: color-mix(in srgb, var(--warn) 8%, transparent); }
.callout h2 { margin: 0 0 4px; font-size: 1rem; }
.callout p { margin: 0; white-space: pre-wrap; word-break: break-word; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
ol.timeline { list-style: none; margin: 0; padding: 8px 0; border: 1px solid var(--line); border-radius: 6px; }
ol.timeline li { display: grid; grid-template-columns: minmax(160px, 28%) 1fr; gap: 8px; align-items: center; padding: 2px 10px; font-size: 0.85rem; }
ol.timeline li.child .label { padding-left: 16px; }
ol.timeline .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
ol.timeline .track { position: relative; height: 14px; background: var(--panel); border-radius: 3px; }
ol.timeline .bar { position: absolute; top: 2px; height: 10px; min-width: 3px; border-radius: 3px; background: var(--ok); }
ol.timeline .bar.failed, ol.timeline .bar.terminated { background: var(--bad); }
ol.timeline .bar.running { background: var(--run); }
ol.timeline .bar.waiting { background: var(--warn); }
ol.timeline .bar.timer { opacity: 0.45; }
details { margin: 8px 0; }
summary { cursor: pointer; font-weight: 600; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto; max-height: 420px; font-size: 0.82rem; }
#toast { position: fixed; bottom: 16px; right: 16px; max-width: 480px; }
#toast p { margin: 6px 0 0; padding: 8px 12px; border-radius: 6px; background: var(--fg); color: var(--bg); box-shadow: 0 2px 8px rgba(0,0,0,.25); }
#toast p.error { background: var(--bad); color: #fff; }
dialog { border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; max-width: 520px; width: calc(100% - 32px); background: var(--bg); color: var(--fg); }
dialog::backdrop { background: rgba(0,0,0,.4); }
dialog h2 { margin-top: 0; }
dialog label { margin-top: 10px; }
dialog input { width: 100%; }
.buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 14px; }
.panel { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.error-text { color: var(--bad); }
.nowrap { white-space: nowrap; }
.s-idle { color: var(--idle); }
section.route-health h2 { margin-top: 4px; }
table.objectives { max-width: 760px; }
table.objectives th[scope="row"] { background: transparent; font-weight: 500; }
svg.trend { display: block; margin-top: 10px; max-width: 100%; height: auto; }
svg.trend .frame { fill: var(--panel); stroke: var(--line); }
svg.trend .duration { fill: var(--run); opacity: 0.55; }
svg.trend .success { fill: none; stroke: var(--ok); stroke-width: 2; }
svg.trend .success-point { fill: var(--ok); }
p.legend { font-size: 0.85rem; margin: 4px 0 0; }
svg.trend .empty { fill: var(--muted); font-size: 12px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
