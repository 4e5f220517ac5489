// "VM Exits" in the Run and Debug container: the run's exit log (reason, RIP, details), newest
// last, refreshed at every stop; clicking an exit reveals its source line; filter by reason.
import * as vscode from 'vscode';
import { EXIT_LOG_REQUEST, type ExitLogEntry, type ExitLogResponse } from '../protocol';
import { activeGuestSession, ask } from './session';

type Node = { kind: 'exit'; exit: ExitLogEntry } | { kind: 'message'; text: string };

export class ExitsViewProvider implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private exits: ExitLogEntry[] = [];
  private message: string | undefined = 'Start a KVM Guest debug session to see its VM exits.';
  /** Reasons hidden by the filter. */
  readonly hidden = new Set<string>();

  /** Every reason seen in this session's log. */
  reasons(): string[] {
    return [...new Set(this.exits.map((e) => e.reason))].sort();
  }

  async refresh(): Promise<void> {
    const session = activeGuestSession();
    if (!session) {
      this.exits = [];
      this.message = 'Start a KVM Guest debug session to see its VM exits.';
    } else {
      const answer = await ask<ExitLogResponse>(session, EXIT_LOG_REQUEST, {});
      if (answer.ok) {
        this.exits = Array.isArray(answer.body?.exits) ? answer.body.exits : [];
        this.message = this.exits.length === 0 ? 'No VM exits yet.' : undefined;
      } else {
        this.exits = [];
        this.message = `The adapter did not answer ${EXIT_LOG_REQUEST}: ${answer.message}`;
      }
    }
    this.changed.fire();
  }

  setHidden(reasons: Iterable<string>): void {
    this.hidden.clear();
    for (const r of reasons) this.hidden.add(r);
    this.changed.fire();
  }

  getChildren(node?: Node): Node[] {
    if (node) return [];
    if (this.message) return [{ kind: 'message', text: this.message }];
    const shown = this.exits.filter((e) => !this.hidden.has(e.reason)).map((exit): Node => ({ kind: 'exit', exit }));
    return shown.length ? shown : [{ kind: 'message', text: `All ${this.exits.length} exits are filtered out.` }];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text);
      item.iconPath = new vscode.ThemeIcon('info');
      return item;
    }
    const e = node.exit;
    const item = new vscode.TreeItem(`#${e.index} ${e.reason}`);
    item.description = `rip ${e.rip}  ${e.details}`;
    item.tooltip = `vCPU ${e.vcpu}: ${e.reason} at ${e.rip}\n${e.details}` + (e.source ? `\n${e.source.path}:${e.source.line}` : '');
    item.iconPath = new vscode.ThemeIcon('debug-stackframe-dot');
    if (e.source) {
      const line = Math.max(0, e.source.line - 1);
      item.command = {
        command: 'vscode.open',
        title: 'Reveal source',
        arguments: [vscode.Uri.file(e.source.path), { selection: new vscode.Range(line, 0, line, 0), preserveFocus: true }],
      };
    }
    return item;
  }
}
