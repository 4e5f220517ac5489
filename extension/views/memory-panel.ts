// The memory view (KVM Guest: Show Memory, and "Show Memory" on a variable with an address): a
// webview (memory-html.ts) over DAP readMemory/writeMemory that follows the expression it was
// opened from (from RSP it re-reads RSP at each stop), highlights the bytes changed since the last
// stop, and on an overlay page shows both layers: what the guest sees (gpa:) and its own page
// beneath (under:). With the Hex Editor extension installed, a variable's "Show Memory" opens VS
// Code's own memory editor instead; nothing here needs the network.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import type { SessionTracker } from '../session-tracker';
import { activeGuestSession, ask } from './session';
import { changedOffsets, memoryHtml, memoryReference, parseMemoryTarget, type MemoryLayer, type MemoryPageState, type MemorySpace } from './memory-html';

const BYTES = 256;
const PAGE = 4096;
const HEX_EDITOR = 'ms-vscode.hexeditor';

/** The argument VS Code passes to a debug/variables/context command. */
interface VariablesContext {
  container?: { name?: string; expensive?: boolean };
  variable?: { name?: string; value?: string; evaluateName?: string; memoryReference?: string };
}

export class MemoryPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private target = { expression: 'rip', space: 'gva' as MemorySpace };
  /** The bytes of each layer at the previous stop (what "changed" is relative to). */
  private baseline = new Map<string, { address: number; bytes: (number | null)[] }>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(tracker: SessionTracker) {
    this.subscriptions.push(
      tracker.onDidStop(() => void this.update(true)),
      vscode.debug.onDidChangeActiveDebugSession(() => { this.baseline.clear(); void this.update(false); }),
    );
  }

  /** Opens (or reveals) the view on a variable's address, an expression, or one typed in. */
  async show(arg?: unknown): Promise<void> {
    const ctx = arg as VariablesContext | undefined;
    if (ctx?.variable) {
      if (ctx.variable.memoryReference && vscode.extensions.getExtension(HEX_EDITOR)) {
        await vscode.commands.executeCommand('workbench.debug.viewlet.action.viewMemory', arg);
        return;
      }
      // A register follows the register; anything else its memory reference.
      const isRegister = ctx.container?.name === 'Registers' && /^[a-z][a-z0-9]*$/.test(ctx.variable.name ?? '');
      this.retarget(isRegister ? ctx.variable.name! : ctx.variable.memoryReference ?? ctx.variable.evaluateName ?? ctx.variable.name ?? 'rip');
    } else if (typeof arg === 'string') {
      this.retarget(arg);
    } else {
      const text = await vscode.window.showInputBox({
        title: 'KVM Guest: Show Memory',
        prompt: 'An address or expression, followed at each stop (gpa:ADDR for guest-physical, under:ADDR beneath an overlay page)',
        value: this.target.space === 'gva' ? this.target.expression : `${this.target.space}:${this.target.expression}`,
      });
      if (text === undefined) return;
      this.retarget(text);
    }
    if (this.panel) this.panel.reveal(undefined, true);
    else {
      this.panel = vscode.window.createWebviewPanel('kvmGuest.memory', 'Guest Memory', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true, localResourceRoots: [], retainContextWhenHidden: false,
      });
      this.panel.onDidDispose(() => { this.panel = undefined; }, undefined, this.subscriptions);
      this.panel.webview.onDidReceiveMessage((m) => void this.onMessage(m), undefined, this.subscriptions);
      this.panel.webview.html = memoryHtml({ expression: this.target.expression, space: this.target.space, layers: [], message: 'Reading...' }, randomBytes(16).toString('base64'));
    }
    await this.update(false);
  }

  private retarget(text: string): void {
    this.target = parseMemoryTarget(text);
    this.baseline.clear();
  }

  private async onMessage(m: { type?: string; expression?: unknown; space?: unknown; address?: unknown; value?: unknown }): Promise<void> {
    if (m.type === 'goto' && typeof m.expression === 'string') {
      const space = m.space === 'gpa' || m.space === 'under' ? m.space : 'gva';
      this.retarget(space === 'gva' ? m.expression : `${space}:${m.expression}`);
      await this.update(false);
    } else if (m.type === 'write' && typeof m.address === 'number' && typeof m.value === 'number') {
      const session = activeGuestSession();
      if (!session) return;
      const space = this.target.space === 'under' ? 'gpa' : this.target.space;
      const r = await ask(session, 'writeMemory', { memoryReference: memoryReference(space, m.address), data: Buffer.from([m.value & 0xff]).toString('base64') });
      if (!r.ok) void vscode.window.showWarningMessage(`KVM Guest: could not write memory: ${r.message}`);
      await this.update(false);
    }
  }

  /** Re-evaluates the target and re-reads; `atStop`: this read is the baseline for the next stop's changes. */
  private async update(atStop: boolean): Promise<void> {
    if (!this.panel) return;
    const state = await this.read(atStop);
    await this.panel?.webview.postMessage({ type: 'update', state });
  }

  private async read(atStop: boolean): Promise<MemoryPageState> {
    const { expression, space } = this.target;
    const base: MemoryPageState = { expression, space, layers: [] };
    const session = activeGuestSession();
    if (!session) return { ...base, message: 'Start a KVM Guest debug session to see guest memory.' };
    const v = await ask<{ result: string }>(session, 'evaluate', { expression, context: 'watch' });
    if (!v.ok) return { ...base, message: `${expression}: ${v.message}` };
    let address: number;
    try { address = Number(BigInt.asUintN(64, BigInt(v.body.result.split(' ')[0]))); } catch { return { ...base, message: `${expression} = ${v.body.result}: not an address` }; }
    const start = Math.max(0, address - (address % 16));
    const layers: MemoryLayer[] = [];
    const spaceName = { gva: 'GVA', gpa: 'GPA', under: 'GPA beneath the overlay' }[space];
    const overlays = space === 'gva' ? [] : await this.overlayPages(session);
    const onOverlay = overlays.some((p) => start < p + PAGE && start + BYTES > p);
    if (space !== 'under') layers.push(await this.layer(session, space, start, `${spaceName} 0x${start.toString(16)}${onOverlay ? ' (overlay page: what the guest sees)' : ''}`, true, atStop));
    if (space === 'under' || onOverlay) layers.push(await this.layer(session, 'under', start, `GPA 0x${start.toString(16)} beneath the overlay (the guest's own page)`, false, atStop));
    return { ...base, subtitle: `${expression} = 0x${address.toString(16)}`, layers };
  }

  private async layer(session: vscode.DebugSession, space: MemorySpace, address: number, title: string, writable: boolean, atStop: boolean): Promise<MemoryLayer> {
    const bytes: (number | null)[] = new Array(BYTES).fill(null);
    const r = await ask<{ address?: string; data?: string }>(session, 'readMemory', { memoryReference: memoryReference(space, address), count: BYTES });
    if (r.ok && r.body?.data) {
      const at = Number(r.body.address ?? address) - address;
      Buffer.from(r.body.data, 'base64').forEach((b, i) => { if (at + i >= 0 && at + i < BYTES) bytes[at + i] = b; });
    }
    const key = `${space}`;
    const now = { address, bytes };
    const changed = changedOffsets(this.baseline.get(key), now);
    if (atStop || !this.baseline.has(key)) this.baseline.set(key, now);
    return { title, address, bytes, changed, writable: writable && bytes.some((b) => b !== null) };
  }

  /** The overlay pages in force (`info overlays`). */
  private async overlayPages(session: vscode.DebugSession): Promise<number[]> {
    const r = await ask<{ result: string }>(session, 'evaluate', { expression: 'info overlays', context: 'repl' });
    return r.ok ? [...r.body.result.matchAll(/overlay page at GPA (0x[0-9a-f]+)/g)].map((m) => Number(m[1])) : [];
  }

  dispose(): void {
    this.panel?.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
