// "Register Cache": KVM's vcpu->arch.regs[] for the focused vCPU, each kvm_reg with its cached and
// VMCS/VMCB values and its regs_avail/regs_dirty bits, under a summary row (the bitmaps, VMREAD and
// VMWRITE counts). Rows that changed since the previous stop are highlighted: the name is
// highlighted, the icon turns orange and the description starts with "changed".
import * as vscode from 'vscode';
import { REGISTER_CACHE_REQUEST, type RegisterCacheArguments, type RegisterCacheEntry, type RegisterCacheResponse } from '../protocol';
import type { SessionTracker } from '../session-tracker';
import { activeGuestSession, ask } from './session';
import { diffRegisterCache, type RegChange } from './regcache-diff';

type Node =
  | { kind: 'reg'; reg: RegisterCacheEntry; change: RegChange | undefined }
  | { kind: 'summary'; label: string; value: string; delta?: string; tooltip: string }
  | { kind: 'message'; text: string };

const NO_SESSION = 'Start a KVM Guest debug session to see the register cache.';
const hex = (n: number) => '0x' + (n >>> 0).toString(16);

export class RegCacheViewProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changedEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changedEmitter.event;
  private nodes: Node[] = [{ kind: 'message', text: NO_SESSION }];
  /** The cache at the previous stop: changes are relative to it. */
  private previous: RegisterCacheResponse | undefined;
  private sessionId: string | undefined;
  private view: vscode.TreeView<Node> | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(tracker: SessionTracker) {
    this.subscriptions.push(
      tracker.onDidStop(() => void this.refresh(true)),
      vscode.debug.onDidChangeActiveDebugSession(() => void this.refresh()),
    );
  }

  attach(view: vscode.TreeView<Node>): void {
    this.view = view;
  }

  /** Fetches the cache; `atStop`: this is a stop, the baseline the next stop's changes are relative to. */
  async refresh(atStop = false): Promise<void> {
    const session = activeGuestSession();
    if (session?.id !== this.sessionId) {
      this.sessionId = session?.id;
      this.previous = undefined;
    }
    if (!session) {
      this.nodes = [{ kind: 'message', text: NO_SESSION }];
      if (this.view) this.view.description = undefined;
    } else {
      const answer = await ask<RegisterCacheResponse>(session, REGISTER_CACHE_REQUEST, {} satisfies RegisterCacheArguments);
      if (!answer.ok || !Array.isArray(answer.body?.regs)) {
        // Not stopped yet, or ended: keep what the last stop showed.
        if (!this.previous) this.nodes = [{ kind: 'message', text: answer.ok ? 'No register cache in the answer.' : `No register cache yet (${answer.message}).` }];
      } else {
        const now = answer.body;
        const changes = diffRegisterCache(this.previous, now);
        const before = this.previous;
        const delta = (a: number, b: number | undefined) => (b !== undefined && a !== b ? `+${a - b}` : undefined);
        this.nodes = [
          { kind: 'summary', label: 'regs_avail', value: hex(now.avail), delta: before && before.avail !== now.avail ? `was ${hex(before.avail)}` : undefined, tooltip: 'vcpu->arch.regs_avail: registers whose cached value is current' },
          { kind: 'summary', label: 'regs_dirty', value: hex(now.dirty), delta: before && before.dirty !== now.dirty ? `was ${hex(before.dirty)}` : undefined, tooltip: 'vcpu->arch.regs_dirty: registers to write back to the VMCS/VMCB before VM entry' },
          { kind: 'summary', label: 'VMREADs', value: String(now.vmreads), delta: delta(now.vmreads, before?.vmreads), tooltip: 'VMREADs (VMCB reads on AMD) KVM made so far' },
          { kind: 'summary', label: 'VMWRITEs', value: String(now.vmwrites), delta: delta(now.vmwrites, before?.vmwrites), tooltip: 'VMWRITEs (VMCB writes on AMD) KVM made so far' },
          ...now.regs.map((reg): Node => ({ kind: 'reg', reg, change: changes.get(reg.name) })),
        ];
        if (atStop) this.previous = now;
        if (this.view) {
          const n = changes.size;
          this.view.description = `vCPU ${now.vcpu}${n ? `, ${n} changed` : ''}`;
        }
      }
    }
    this.changedEmitter.fire();
  }

  getChildren(node?: Node): Node[] {
    return node ? [] : this.nodes;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text);
      item.iconPath = new vscode.ThemeIcon('info');
      return item;
    }
    if (node.kind === 'summary') {
      const item = new vscode.TreeItem(node.delta ? { label: node.label, highlights: [[0, node.label.length]] } : node.label);
      item.description = node.delta ? `${node.value}  (${node.delta})` : node.value;
      item.tooltip = node.tooltip;
      item.iconPath = new vscode.ThemeIcon('symbol-numeric', node.delta ? new vscode.ThemeColor('charts.orange') : undefined);
      return item;
    }
    const r = node.reg;
    const short = r.name.replace(/^VCPU_(REGS_|EXREG_)?/, '');
    const label: vscode.TreeItemLabel = { label: r.name, highlights: node.change ? [[r.name.length - short.length, r.name.length]] : undefined };
    const item = new vscode.TreeItem(label);
    const flags = [r.avail ? 'avail' : '', r.dirty ? 'dirty' : ''].filter(Boolean).join(' ') || 'not avail';
    item.description = `${node.change ? 'changed  ' : ''}${r.cached}  [${flags}]` + (r.vmcs !== undefined ? `  vmcs ${r.vmcs}` : '');
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${r.name}**\n\n`);
    tip.appendCodeblock([
      `cached (vcpu->arch.regs) ${r.cached}`,
      ...(r.vmcs !== undefined ? [`VMCS/VMCB field         ${r.vmcs}`] : []),
      `regs_avail              ${r.avail ? 1 : 0}`,
      `regs_dirty              ${r.dirty ? 1 : 0}`,
      ...(node.change ? [`since the last stop:    ${node.change.what.join(', ')}`] : []),
    ].join('\n'), 'text');
    item.tooltip = tip;
    item.iconPath = node.change
      ? new vscode.ThemeIcon('diff-modified', new vscode.ThemeColor('charts.orange'))
      : new vscode.ThemeIcon(r.dirty ? 'circle-filled' : r.avail ? 'circle-outline' : 'circle-small');
    return item;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changedEmitter.dispose();
  }
}
