// The exit statistics panel: one webview (statistics-html.ts) that follows the active kvm-guest
// session, updated at every stop and every two seconds while the guest runs.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { STATISTICS_REQUEST, type StatisticsResponse } from '../protocol';
import type { SessionTracker } from '../session-tracker';
import { activeGuestSession, ask } from './session';
import { statisticsHtml, type StatisticsPageState } from './statistics-html';

const POLL_MS = 2000;

export class StatisticsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly tracker: SessionTracker) {
    this.subscriptions.push(
      tracker.onDidStop(() => void this.update()),
      tracker.onDidReset(() => void this.update()),
      tracker.onDidChangeState(() => { this.updatePolling(); void this.update(); }),
      vscode.debug.onDidChangeActiveDebugSession(() => { this.updatePolling(); void this.update(); }),
    );
  }

  async show(): Promise<void> {
    if (this.panel) {
      this.panel.reveal(undefined, true);
    } else {
      this.panel = vscode.window.createWebviewPanel('kvmGuest.statistics', 'VM Exit Statistics', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true,
        localResourceRoots: [],
        retainContextWhenHidden: false,
      });
      this.panel.onDidDispose(() => { this.panel = undefined; this.updatePolling(); }, undefined, this.subscriptions);
      this.panel.onDidChangeViewState(() => this.updatePolling(), undefined, this.subscriptions);
      this.panel.webview.html = statisticsHtml(await this.state(), randomBytes(16).toString('base64'));
    }
    this.updatePolling();
  }

  private async state(): Promise<StatisticsPageState> {
    const session = activeGuestSession();
    if (!session) return { message: 'Start a KVM Guest debug session to see its exit statistics.' };
    const info = this.tracker.info(session);
    const program = typeof session.configuration.program === 'string' ? basename(session.configuration.program) : session.name;
    const subtitle = `${program}${info ? `, ${info.state}` : ''}`;
    const answer = await ask<StatisticsResponse>(session, STATISTICS_REQUEST, {});
    return answer.ok ? { stats: answer.body, subtitle } : { message: `No statistics yet (${answer.message}).`, subtitle };
  }

  private async update(): Promise<void> {
    if (!this.panel) return;
    const state = await this.state();
    await this.panel?.webview.postMessage({ type: 'update', state });
  }

  private updatePolling(): void {
    const running = !!this.panel?.visible && this.tracker.info(activeGuestSession())?.state === 'running';
    if (running && !this.timer) this.timer = setInterval(() => void this.update(), POLL_MS);
    else if (!running && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.panel?.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
