// The exit statistics panel: exits by reason (like `perf kvm stat`), in a webview with a
// restrictive Content-Security-Policy: no scripts, no remote content, styles inline by nonce.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { STATISTICS_REQUEST, type StatisticsResponse } from '../protocol';
import { activeGuestSession, ask } from './session';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function statisticsHtml(stats: StatisticsResponse | undefined, message: string | undefined, nonce: string, cspSource: string): string {
  const rows = (stats?.byReason ?? []).slice().sort((a, b) => b.count - a.count);
  const total = rows.reduce((n, r) => n + r.count, 0);
  const max = rows.reduce((m, r) => Math.max(m, r.count), 0) || 1;
  const body = message
    ? `<p>${escapeHtml(message)}</p>`
    : `<table><thead><tr><th>Exit reason</th><th>Samples</th><th>%</th><th></th></tr></thead><tbody>` +
      rows.map((r) => `<tr><td>${escapeHtml(r.reason)}</td><td class="n">${r.count}</td>` +
        `<td class="n">${total ? ((100 * r.count) / total).toFixed(2) : '0.00'}%</td>` +
        `<td><div class="bar" style="width:${Math.round((200 * r.count) / max)}px"></div></td></tr>`).join('') +
      `</tbody></table><p>${total} exits</p>`;
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource}; style-src 'nonce-${nonce}' 'unsafe-inline';">
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
table { border-collapse: collapse; } th, td { padding: 2px 8px; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.bar { height: 10px; background: var(--vscode-charts-blue); }
</style></head><body><h2>VM exit statistics</h2>${body}</body></html>`;
}

export async function showStatistics(): Promise<void> {
  const panel = vscode.window.createWebviewPanel('kvmGuest.statistics', 'VM Exit Statistics', vscode.ViewColumn.Beside, { enableScripts: false });
  const nonce = randomBytes(16).toString('base64');
  const session = activeGuestSession();
  if (!session) {
    panel.webview.html = statisticsHtml(undefined, 'Start a KVM Guest debug session to see its exit statistics.', nonce, panel.webview.cspSource);
    return;
  }
  const answer = await ask<StatisticsResponse>(session, STATISTICS_REQUEST, {});
  panel.webview.html = answer.ok
    ? statisticsHtml(answer.body, undefined, nonce, panel.webview.cspSource)
    : statisticsHtml(undefined, `The adapter did not answer ${STATISTICS_REQUEST}: ${answer.message}`, nonce, panel.webview.cspSource);
}
