// "VM Exits" in the Run and Debug container: the run's exit log, newest first (reason, vCPU, RIP,
// the exit's fields), fetched incrementally (kvmGuest/exitLog {sinceIndex}) at every stop and once
// a second while the guest runs; clicking an exit reveals its source line; the filter command hides
// reasons.
import * as vscode from 'vscode';
import { EXIT_LOG_REQUEST, type ExitLogArguments, type ExitLogEntry, type ExitLogResponse } from '../protocol';
import type { SessionTracker } from '../session-tracker';
import { activeGuestSession, ask } from './session';
import { exitDisplayName, exitLayerIcon } from './exit-format';
import { ExitLogStore } from './exit-log-store';

type Node = { kind: 'exit'; exit: ExitLogEntry } | { kind: 'message'; text: string };

const POLL_MS = 1000;
const NO_SESSION = 'Start a KVM Guest debug session to see its VM exits.';

export class ExitsViewProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  /** The log shown: the active session's, or the last run's once it ended (until the next launch). */
  private readonly store = new ExitLogStore();
  private message: string | undefined = NO_SESSION;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private view: vscode.TreeView<Node> | undefined;
  /** Reasons (display names) hidden by the filter. */
  readonly hidden = new Set<string>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly tracker: SessionTracker) {
    this.subscriptions.push(
      tracker.onDidStop(() => void this.refresh()),
      tracker.onDidReset((s) => { if (s.id === this.store.sessionId) this.store.clear(); void this.refresh(); }),
      tracker.onDidChangeState((s) => {
        this.updatePolling();
        // The guest ended: fetch the exits of its last stretch while the adapter still answers.
        if (tracker.info(s)?.state === 'ended' && s.id === this.store.sessionId) void this.refresh(s);
      }),
      vscode.debug.onDidChangeActiveDebugSession(() => { this.updatePolling(); void this.refresh(); }),
    );
  }

  attach(view: vscode.TreeView<Node>): void {
    this.view = view;
    this.subscriptions.push(view.onDidChangeVisibility(() => this.updatePolling()));
  }

  /** Every reason seen in this session's log. */
  reasons(): string[] {
    return this.store.reasons();
  }

  /** The exits held (for tests and commands), oldest first. */
  entries(): readonly ExitLogEntry[] {
    return this.store.exits;
  }

  /** Fetches the exits logged since the last fetch. Concurrent calls share one request. */
  refresh(session = activeGuestSession()): Promise<void> {
    this.busy ??= this.fetch(session).finally(() => { this.busy = undefined; });
    return this.busy;
  }

  private async fetch(session: vscode.DebugSession | undefined): Promise<void> {
    const store = this.store;
    if (!session) {
      store.end();
      this.message = store.total ? undefined : NO_SESSION;
    } else {
      store.follow(session.id);
      const answer = await ask<ExitLogResponse>(session, EXIT_LOG_REQUEST, { sinceIndex: store.next } satisfies ExitLogArguments);
      if (session.id !== store.sessionId) return; // another session started meanwhile
      if (answer.ok) {
        store.add(Array.isArray(answer.body?.exits) ? answer.body.exits : []);
        this.message = store.total === 0 ? 'No VM exits yet.' : undefined;
      } else if (store.total) {
        this.message = undefined; // ended: keep the last run
      } else if (this.tracker.info(session)?.state === 'starting') {
        this.message = 'Starting the guest...';
      } else {
        this.message = `The adapter did not answer ${EXIT_LOG_REQUEST}: ${answer.message}`;
      }
      if (this.tracker.info(session)?.state === 'ended') store.end();
    }
    this.updateDescription();
    this.changed.fire();
  }

  private updateDescription(): void {
    if (!this.view) return;
    const total = this.store.total;
    const hidden = this.hidden.size ? `, ${this.hidden.size} reason${this.hidden.size === 1 ? '' : 's'} hidden` : '';
    this.view.description = total ? `${total} exit${total === 1 ? '' : 's'}${hidden}${this.store.ended ? ' (last run, ended)' : ''}` : undefined;
  }

  /** Poll while the active kvm-guest session runs and the view is visible. */
  private updatePolling(): void {
    const session = activeGuestSession();
    const running = this.tracker.info(session)?.state === 'running' && (this.view?.visible ?? true);
    if (running && !this.timer) this.timer = setInterval(() => void this.refresh(), POLL_MS);
    else if (!running && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  setHidden(reasons: Iterable<string>): void {
    this.hidden.clear();
    for (const r of reasons) this.hidden.add(r);
    this.updateDescription();
    this.changed.fire();
  }

  getChildren(node?: Node): Node[] {
    if (node) return [];
    if (this.message) return [{ kind: 'message', text: this.message }];
    const shown: Node[] = [];
    const exits = this.store.exits;
    for (let i = exits.length - 1; i >= 0; i--) {
      const exit = exits[i];
      if (!this.hidden.has(exitDisplayName(exit))) shown.push({ kind: 'exit', exit });
    }
    if (!shown.length) return [{ kind: 'message', text: `All ${exits.length} exits are filtered out.` }];
    if (this.store.dropped) shown.push({ kind: 'message', text: `${this.store.dropped} older exits not shown.` });
    return shown;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text);
      item.iconPath = new vscode.ThemeIcon('info');
      return item;
    }
    const e = node.exit;
    const name = exitDisplayName(e);
    const item = new vscode.TreeItem(name);
    item.id = `exit-${this.store.sessionId}-${e.index}`;
    item.description = `#${e.index}  vCPU ${e.vcpu}  rip ${e.rip}  ${e.details}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${name}** (${e.layer}) on vCPU ${e.vcpu} at RIP \`${e.rip}\`\n\n`);
    md.appendCodeblock(e.details.split(' ').join('\n'), 'text');
    if (e.source) md.appendMarkdown(`\n${e.source.path}:${e.source.line}`);
    item.tooltip = md;
    item.iconPath = exitLayerIcon(e.layer);
    item.contextValue = e.source ? 'kvmGuestExit.withSource' : 'kvmGuestExit';
    if (e.source) {
      const line = Math.max(0, e.source.line - 1);
      item.command = {
        command: 'vscode.open',
        title: 'Reveal Source',
        arguments: [vscode.Uri.file(e.source.path), { selection: new vscode.Range(line, 0, line, 0), preserveFocus: true } satisfies vscode.TextDocumentShowOptions],
      };
    }
    return item;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}
