// "VM Exits" in the Run and Debug container: the run's exit log, newest first (reason, vCPU, RIP,
// the exit's fields), fetched incrementally (kvmGuest/exitLog {sinceIndex}) at every stop and once
// a second while the guest runs; clicking an exit reveals its source line; the filter command hides
// reasons.
import * as vscode from 'vscode';
import { EXIT_LOG_REQUEST, type ExitLogArguments, type ExitLogEntry, type ExitLogResponse } from '../protocol';
import type { SessionTracker } from '../session-tracker';
import { activeGuestSession, ask } from './session';
import { exitDisplayName, exitLayerIcon } from './exit-format';

type Node = { kind: 'exit'; exit: ExitLogEntry } | { kind: 'message'; text: string };

/** Exits kept (and shown) per session: the newest. */
const MAX_KEPT = 5000;
const POLL_MS = 1000;
const NO_SESSION = 'Start a KVM Guest debug session to see its VM exits.';

export class ExitsViewProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private exits: ExitLogEntry[] = [];
  /** Exits dropped from `exits` (beyond MAX_KEPT). */
  private dropped = 0;
  private next = 0;
  private sessionId: string | undefined;
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
      tracker.onDidReset((s) => { if (s.id === this.sessionId) this.clear(); void this.refresh(); }),
      tracker.onDidChangeState(() => this.updatePolling()),
      vscode.debug.onDidChangeActiveDebugSession(() => { this.updatePolling(); void this.refresh(); }),
    );
  }

  attach(view: vscode.TreeView<Node>): void {
    this.view = view;
    this.subscriptions.push(view.onDidChangeVisibility(() => this.updatePolling()));
  }

  /** Every reason seen in this session's log. */
  reasons(): string[] {
    return [...new Set(this.exits.map(exitDisplayName))].sort();
  }

  /** The exits held (for tests and commands), oldest first. */
  entries(): readonly ExitLogEntry[] {
    return this.exits;
  }

  private clear(): void {
    this.exits = [];
    this.dropped = 0;
    this.next = 0;
  }

  /** Fetches the exits logged since the last fetch. Concurrent calls share one request. */
  refresh(): Promise<void> {
    this.busy ??= this.fetch().finally(() => { this.busy = undefined; });
    return this.busy;
  }

  private async fetch(): Promise<void> {
    const session = activeGuestSession();
    if (session?.id !== this.sessionId) {
      this.sessionId = session?.id;
      this.clear();
    }
    if (!session) {
      this.message = NO_SESSION;
    } else {
      const answer = await ask<ExitLogResponse>(session, EXIT_LOG_REQUEST, { sinceIndex: this.next } satisfies ExitLogArguments);
      if (session.id !== this.sessionId) return; // the active session changed meanwhile
      if (answer.ok) {
        const fresh = Array.isArray(answer.body?.exits) ? answer.body.exits.filter((e) => e.index >= this.next) : [];
        if (fresh.length) {
          this.exits.push(...fresh);
          this.next = fresh[fresh.length - 1].index + 1;
          if (this.exits.length > MAX_KEPT) {
            this.dropped += this.exits.length - MAX_KEPT;
            this.exits.splice(0, this.exits.length - MAX_KEPT);
          }
        }
        this.message = this.exits.length === 0 ? 'No VM exits yet.' : undefined;
      } else if (this.tracker.info(session)?.state === 'starting') {
        this.message = 'Starting the guest...';
      } else {
        this.message = `The adapter did not answer ${EXIT_LOG_REQUEST}: ${answer.message}`;
      }
    }
    this.updateDescription();
    this.changed.fire();
  }

  private updateDescription(): void {
    if (!this.view) return;
    const total = this.exits.length + this.dropped;
    this.view.description = total ? `${total} exit${total === 1 ? '' : 's'}${this.hidden.size ? `, ${this.hidden.size} reason${this.hidden.size === 1 ? '' : 's'} hidden` : ''}` : undefined;
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
    for (let i = this.exits.length - 1; i >= 0; i--) {
      const exit = this.exits[i];
      if (!this.hidden.has(exitDisplayName(exit))) shown.push({ kind: 'exit', exit });
    }
    if (!shown.length) return [{ kind: 'message', text: `All ${this.exits.length} exits are filtered out.` }];
    if (this.dropped) shown.push({ kind: 'message', text: `${this.dropped} older exits not shown.` });
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
    item.id = `exit-${this.sessionId}-${e.index}`;
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
