// The exit statistics page (like `perf kvm stat`): exits by reason as a bar chart and table, and
// exits over guest time (instructions) as a column chart. A restrictive Content-Security-Policy:
// default-src 'none'; the one script and the one style element carry a nonce; no remote content.
// The charts are SVG built by that script from data in a JSON block (never parsed as HTML), and
// redrawn from postMessage updates. No VS Code import (unit-tested).
import type { StatisticsResponse } from '../protocol';

/** JSON that is safe inside <script type="application/json">: no "</script", no "<!--". */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function contentSecurityPolicy(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data:; base-uri 'none'; form-action 'none'`;
}

export interface StatisticsPageState {
  stats?: StatisticsResponse;
  /** Shown instead of the charts (no session, adapter error). */
  message?: string;
  /** e.g. "seed003-map-gpa-range.asm, stopped". */
  subtitle?: string;
}

/**
 * The columns of the exits-over-time chart, scaled to the run: at most `maxCols` columns over
 * [0, end), end the run's length in instructions (a 4-instruction run gets a 4-instruction axis,
 * not a 100,000-instruction one), each column at least one instruction wide. Self-contained: its
 * source is also the webview script's (unit-tested here).
 */
export function timeColumns(timeline: { instructions: number; count: number }[], totalInsns: number, maxCols: number): { end: number; per: number; sums: number[] } {
  let last = 0;
  for (const t of timeline) last = Math.max(last, t.instructions + 1);
  const end = Math.max(1, Math.ceil(totalInsns), last);
  const cols = Math.max(1, Math.min(maxCols, end));
  const per = end / cols;
  const sums = new Array(cols).fill(0);
  for (const t of timeline) sums[Math.min(cols - 1, Math.max(0, Math.floor(t.instructions / per)))] += t.count;
  return { end, per, sums };
}

const STYLE = `
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 16px 16px; overflow-x: hidden; }
#root { max-width: 100%; } svg { display: block; max-width: 100%; overflow: visible; }
.scroll { max-width: 100%; overflow-x: auto; }
h2 { font-weight: 600; margin: 12px 0 2px; } .sub { color: var(--vscode-descriptionForeground); margin-bottom: 12px; }
h3 { font-weight: 600; margin: 16px 0 6px; }
table { border-collapse: collapse; margin-top: 8px; width: 100%; max-width: 640px; } th, td { padding: 2px 10px; text-align: left; }
th { border-bottom: 1px solid var(--vscode-panel-border, #555); } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
svg text { fill: var(--vscode-foreground); font-size: 11px; font-family: var(--vscode-font-family); }
svg text.dim { fill: var(--vscode-descriptionForeground); }
.bar { fill: var(--vscode-charts-blue, #3794ff); } .bar.user { fill: var(--vscode-charts-green, #89d185); }
.col { fill: var(--vscode-charts-orange, #d18616); } .axis { stroke: var(--vscode-descriptionForeground, #888); stroke-width: 1; }
.legend { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; } .legend.bar { background: var(--vscode-charts-blue, #3794ff); } .legend.user { background: var(--vscode-charts-green, #89d185); }
.message { color: var(--vscode-descriptionForeground); }
`;

/** Draws the page from #data and from {type:'update', state} messages. Runs in the webview. */
const SCRIPT = `(() => {
  const NS = 'http://www.w3.org/2000/svg';
  const root = document.getElementById('root');
  const el = (tag, attrs, text) => {
    const e = tag.startsWith('svg:') ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  // Hardware exits keep their vendor names; exits to userspace are named as KVM_EXIT_*.
  const isHw = (r) => /^(EXIT_REASON_|SVM_EXIT_)/.test(r);
  const display = (r) => (isHw(r) || r.startsWith('KVM_EXIT_') ? r : 'KVM_EXIT_' + r);
  const width = () => Math.max(200, Math.min(960, document.body.clientWidth - 32));
  const timeColumns = ${timeColumns.toString()};
  function byReason(rows, total) {
    const W = width(), rowH = 20, max = Math.max(1, ...rows.map((r) => r.count));
    const svg = el('svg:svg', { width: W, height: rows.length * rowH + 6, role: 'img', 'aria-label': 'VM exits by reason' });
    // The label column is as wide as the longest label (measured), so none is clipped.
    document.body.append(svg);
    const labels = rows.map((r) => { const t = el('svg:text', { x: 0, y: 0, 'text-anchor': 'end' }, display(r.reason)); svg.append(t); return t; });
    const longest = Math.max(40, ...labels.map((t) => Math.ceil(t.getComputedTextLength ? t.getComputedTextLength() : t.textContent.length * 7)));
    const label = Math.min(longest + 12, Math.round(W * 0.6));
    svg.remove();
    rows.forEach((r, i) => {
      const y = i * rowH + 3, w = Math.max(1, Math.round(Math.max(20, W - label - 110) * r.count / max));
      labels[i].setAttribute('x', label - 8); labels[i].setAttribute('y', y + 13);
      svg.append(el('svg:rect', { x: label, y, width: w, height: rowH - 6, class: isHw(r.reason) ? 'bar' : 'bar user' }));
      svg.append(el('svg:text', { x: label + w + 6, y: y + 13, class: 'dim' }, r.count + '  (' + (100 * r.count / total).toFixed(1) + '%)'));
    });
    return svg;
  }
  function overTime(timeline, totalInsns) {
    const W = width(), H = 160, left = 44, bottom = 22, top = 8;
    const svg = el('svg:svg', { width: W, height: H, role: 'img', 'aria-label': 'VM exits over time' });
    const { end, per, sums } = timeColumns(timeline, totalInsns, 120);
    const cols = sums.length;
    const max = Math.max(1, ...sums), cw = (W - left - 8) / cols;
    svg.append(el('svg:line', { x1: left, y1: H - bottom, x2: W - 4, y2: H - bottom, class: 'axis' }));
    svg.append(el('svg:line', { x1: left, y1: top, x2: left, y2: H - bottom, class: 'axis' }));
    svg.append(el('svg:text', { x: left - 4, y: top + 8, 'text-anchor': 'end', class: 'dim' }, max));
    svg.append(el('svg:text', { x: left - 4, y: H - bottom, 'text-anchor': 'end', class: 'dim' }, 0));
    svg.append(el('svg:text', { x: left, y: H - 6, class: 'dim' }, '0'));
    svg.append(el('svg:text', { x: W - 4, y: H - 6, 'text-anchor': 'end', class: 'dim' }, Math.round(end).toLocaleString('en') + ' instructions'));
    sums.forEach((s, i) => {
      if (!s) return;
      const h = Math.max(1, (H - bottom - top) * s / max);
      const r = el('svg:rect', { x: left + i * cw + 0.5, y: H - bottom - h, width: Math.max(1, cw - 1), height: h, class: 'col' });
      r.append(el('svg:title', {}, s + ' exits from instruction ' + Math.round(i * per).toLocaleString('en')));
      svg.append(r);
    });
    return svg;
  }
  function draw(state) {
    root.replaceChildren();
    root.append(el('h2', {}, 'VM exit statistics'));
    if (state.subtitle) root.append(el('div', { class: 'sub' }, state.subtitle));
    if (state.message || !state.stats) { root.append(el('p', { class: 'message' }, state.message || 'No statistics.')); return; }
    const rows = (state.stats.byReason || []).slice().sort((a, b) => b.count - a.count);
    const total = rows.reduce((n, r) => n + r.count, 0);
    const insns = state.stats.totalInstructions || 0;
    root.append(el('div', { class: 'sub' }, total + ' events over ' + insns.toLocaleString('en') + ' guest instructions'));
    if (!total) { root.append(el('p', { class: 'message' }, 'No VM exits yet.')); return; }
    const h = el('h3', {}, 'Exits by reason');
    const k1 = el('span', { class: 'legend bar' }); const k2 = el('span', { class: 'legend user' });
    h.append(k1, document.createTextNode('hardware exit'), k2, document.createTextNode('exit to userspace (KVM_EXIT_*)'));
    root.append(h, byReason(rows, total));
    root.append(el('h3', {}, 'Exits over time'), overTime(state.stats.timeline || [], insns));
    const table = el('table'); const head = el('tr');
    for (const [t, c] of [['VM-EXIT', ''], ['Samples', 'n'], ['Samples%', 'n']]) head.append(el('th', c ? { class: c } : {}, t));
    table.append(head);
    for (const r of rows) {
      const tr = el('tr');
      tr.append(el('td', {}, display(r.reason)), el('td', { class: 'n' }, r.count), el('td', { class: 'n' }, (100 * r.count / total).toFixed(2) + '%'));
      table.append(tr);
    }
    const wrap = el('div', { class: 'scroll' });
    wrap.append(table);
    root.append(el('h3', {}, 'Table'), wrap);
  }
  let state = JSON.parse(document.getElementById('data').textContent);
  draw(state);
  window.addEventListener('message', (ev) => { if (ev.data && ev.data.type === 'update') { state = ev.data.state; draw(state); } });
  let pending = 0;
  window.addEventListener('resize', () => { cancelAnimationFrame(pending); pending = requestAnimationFrame(() => draw(state)); });
})();`;

/** A webview page under contentSecurityPolicy(nonce): one nonce'd style and script, the state as JSON in #data. */
export function webviewPage(title: string, style: string, script: string, state: unknown, nonce: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style nonce="${nonce}">${style}</style>
</head><body><div id="root"></div>
<script type="application/json" id="data">${jsonForScript(state)}</script>
<script nonce="${nonce}">${script}</script>
</body></html>`;
}

export function statisticsHtml(state: StatisticsPageState, nonce: string): string {
  return webviewPage('VM Exit Statistics', STYLE, SCRIPT, state, nonce);
}
