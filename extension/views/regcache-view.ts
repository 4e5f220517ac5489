// "Register Cache": KVM's vcpu->arch.regs[] for the stopped vCPU, each kvm_reg with its cached and
// VMCS values, regs_avail/regs_dirty and VMREAD/VMWRITE counts; what changed since the previous
// stop is highlighted.
import * as vscode from 'vscode';
import { REGISTER_CACHE_REQUEST, type RegisterCacheEntry, type RegisterCacheResponse } from '../protocol';
import { activeGuestSession, ask } from './session';

type Node = { kind: 'reg'; reg: RegisterCacheEntry; changed: boolean } | { kind: 'message'; text: string };

function sameEntry(a: RegisterCacheEntry, b: RegisterCacheEntry): boolean {
  return a.cached === b.cached && a.vmcs === b.vmcs && a.avail === b.avail && a.dirty === b.dirty;
}

export class RegCacheViewProvider implements vscode.TreeDataProvider<Node> {
  private readonly changedEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changedEmitter.event;
  private nodes: Node[] = [{ kind: 'message', text: 'Start a KVM Guest debug session to see the register cache.' }];
  private previous = new Map<string, RegisterCacheEntry>();

  async refresh(): Promise<void> {
    const session = activeGuestSession();
    if (!session) {
      this.previous.clear();
      this.nodes = [{ kind: 'message', text: 'Start a KVM Guest debug session to see the register cache.' }];
    } else {
      const answer = await ask<RegisterCacheResponse>(session, REGISTER_CACHE_REQUEST, {});
      if (!answer.ok) {
        this.nodes = [{ kind: 'message', text: `The adapter did not answer ${REGISTER_CACHE_REQUEST}: ${answer.message}` }];
      } else {
        const regs = Array.isArray(answer.body?.regs) ? answer.body.regs : [];
        this.nodes = regs.map((reg) => {
          const before = this.previous.get(reg.name);
          return { kind: 'reg', reg, changed: before !== undefined && !sameEntry(before, reg) };
        });
        this.previous = new Map(regs.map((r) => [r.name, r]));
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
    const r = node.reg;
    const flags = `${r.avail ? 'avail' : '-----'} ${r.dirty ? 'dirty' : '-----'}`;
    const item = new vscode.TreeItem(r.name);
    item.description = `${r.cached}  [${flags}]` + (r.vmcs !== undefined ? `  vmcs ${r.vmcs}` : '');
    item.tooltip = `${r.name}\ncached: ${r.cached}` + (r.vmcs !== undefined ? `\nVMCS/VMCB: ${r.vmcs}` : '') +
      `\nregs_avail: ${r.avail}\nregs_dirty: ${r.dirty}` +
      (r.vmreads !== undefined ? `\nVMREADs: ${r.vmreads}` : '') + (r.vmwrites !== undefined ? `\nVMWRITEs: ${r.vmwrites}` : '');
    item.iconPath = node.changed
      ? new vscode.ThemeIcon('circle-filled', new vscode.ThemeColor('debugTokenExpression.error'))
      : new vscode.ThemeIcon(r.dirty ? 'circle-outline' : 'circle-small');
    return item;
  }
}
