// The exit statistics panel: one webview (statistics-html.ts) that follows the active kvm-guest
// session, updated at every stop and every two seconds while the guest runs; after the guest ends
// it keeps the last run's statistics until the next launch. It opens beside the editor; when it
// closes, the editors it narrowed are scrolled back to column 0 (VS Code keeps their sideways scroll).
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
  /** The last statistics shown, kept after the session ends. */
  private last: { id: string; state: StatisticsPageState } | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly tracker: SessionTracker) {
    this.subscriptions.push(
      tracker.onDidStop(() => void this.update()),
      tracker.onDidReset(() => void this.update()),
      tracker.onDidChangeState((session) => { this.updatePolling(); void this.update(session); }),
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
      this.panel.onDidDispose(() => { this.panel = undefined; this.updatePolling(); unscrollEditors(); }, undefined, this.subscriptions);
      this.panel.onDidChangeViewState(() => this.updatePolling(), undefined, this.subscriptions);
      this.panel.webview.html = statisticsHtml(await this.state(), randomBytes(16).toString('base64'));
    }
    this.updatePolling();
  }

  private async state(session = activeGuestSession()): Promise<StatisticsPageState> {
    if (!session) {
      // Ended: the last run's statistics stay until the next launch.
      if (this.last) return { ...this.last.state, subtitle: `${this.last.state.subtitle?.replace(/, \w+$/, '') ?? ''}, last run (ended)` };
      return { message: 'Start a KVM Guest debug session to see its exit statistics.' };
    }
    const info = this.tracker.info(session);
    const program = typeof session.configuration.program === 'string' ? basename(session.configuration.program) : session.name;
    const subtitle = `${program}${info ? `, ${info.state}` : ''}`;
    const answer = await ask<StatisticsResponse>(session, STATISTICS_REQUEST, {});
    if (answer.ok) {
      const state = { stats: answer.body, subtitle };
      this.last = { id: session.id, state };
      return state;
    }
    if (this.last?.id === session.id) return { ...this.last.state, subtitle };
    return { message: `No statistics yet (${answer.message}).`, subtitle };
  }

  private async update(session?: vscode.DebugSession): Promise<void> {
    if (!this.panel) return;
    const active = activeGuestSession();
    // A state change of a session that is no longer active (it ended): fetch its last numbers.
    const state = await this.state(session && this.tracker.info(session)?.state === 'ended' ? session : active);
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

/** Scrolls every visible text editor back to column 0 of its first visible line (horizontal scroll only). */
function unscrollEditors(): void {
  for (const editor of vscode.window.visibleTextEditors) {
    const top = editor.visibleRanges[0]?.start.line;
    if (top === undefined) continue;
    editor.revealRange(new vscode.Range(top, 0, top, 0), vscode.TextEditorRevealType.Default);
  }
}
