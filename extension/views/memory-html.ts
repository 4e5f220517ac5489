// The memory view's page: a hex and ASCII dump of guest memory (GVA through the guest's page
// tables, GPA, or the guest's own page beneath an overlay), 16 bytes a row, bytes changed since
// the last stop highlighted, a byte edited in place (the extension writes it with DAP
// writeMemory). Same Content-Security-Policy as the statistics page: default-src 'none', one
// nonce'd script and style, data in a JSON block (never parsed as HTML). No VS Code import (unit-tested).
import { webviewPage } from './statistics-html';

/** Where the view reads: GVA (through the page tables), GPA, or beneath an overlay page (`under:`). */
export type MemorySpace = 'gva' | 'gpa' | 'under';

export interface MemoryLayer {
  /** e.g. "GPA 0x300000 (overlay page: what the guest sees)". */
  title: string;
  /** Guest address of bytes[0]. */
  address: number;
  /** The bytes; null where unreadable (not mapped, no RAM). */
  bytes: (number | null)[];
  /** Offsets (into bytes) changed since the last stop. */
  changed: number[];
  /** Writes go to this layer (DAP writeMemory); the layer beneath an overlay is read-only. */
  writable: boolean;
}

export interface MemoryPageState {
  /** The expression the view follows (re-evaluated at each stop), e.g. "rsp", "0x100000". */
  expression: string;
  space: MemorySpace;
  /** What the expression gave at this stop, e.g. "rsp = 0x7ff0". */
  subtitle?: string;
  layers: MemoryLayer[];
  message?: string;
}

/** The memory reference of `address` in `space`, as the adapter parses it. */
export function memoryReference(space: MemorySpace, address: number): string {
  const hex = '0x' + address.toString(16);
  return space === 'gva' ? hex : `${space === 'gpa' ? 'gpa' : 'under'}:${hex}`;
}

/** "gpa:rsp+8" -> space gpa, expression "rsp+8"; a bare expression is a GVA. */
export function parseMemoryTarget(text: string): { space: MemorySpace; expression: string } {
  const m = /^\s*(gpa|phys|under|gva):\s*(.+)$/i.exec(text);
  if (!m) return { space: 'gva', expression: text.trim() };
  const k = m[1].toLowerCase();
  return { space: k === 'under' ? 'under' : k === 'gva' ? 'gva' : 'gpa', expression: m[2].trim() };
}

/** Offsets whose byte differs from the previous read of the same address (none when the address moved). */
export function changedOffsets(before: { address: number; bytes: (number | null)[] } | undefined, now: { address: number; bytes: (number | null)[] }): number[] {
  if (!before) return [];
  const out: number[] = [];
  for (let i = 0; i < now.bytes.length; i++) {
    const j = now.address + i - before.address;
    if (j < 0 || j >= before.bytes.length) continue;
    if (before.bytes[j] !== now.bytes[i] && before.bytes[j] !== null && now.bytes[i] !== null) out.push(i);
  }
  return out;
}

/** One text row of a dump (also what the page draws): address, 16 hex bytes (?? unreadable), ASCII. */
export function hexRow(address: number, bytes: (number | null)[]): string {
  const hex = bytes.map((b) => (b === null ? '??' : b.toString(16).padStart(2, '0'))).join(' ');
  const ascii = bytes.map((b) => (b === null ? ' ' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `${'0x' + address.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`;
}

const STYLE = `
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 16px 16px; }
h2 { font-weight: 600; margin: 12px 0 2px; } .sub { color: var(--vscode-descriptionForeground); margin: 4px 0 10px; }
form { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
input, select, button { font: inherit; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, #555); padding: 2px 4px; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 3px 10px; cursor: pointer; }
.dump { font-family: var(--vscode-editor-font-family, monospace); font-size: var(--vscode-editor-font-size, 13px); border-collapse: collapse; margin-top: 6px; }
.dump td { padding: 0 3px; white-space: pre; } .dump td.addr { color: var(--vscode-descriptionForeground); padding-right: 12px; }
.dump td.ascii { padding-left: 12px; } .b { cursor: text; } .b.changed { color: var(--vscode-debugTokenExpression-number, #b5cea8); background: var(--vscode-editor-findMatchHighlightBackground, rgba(234,92,0,0.33)); font-weight: 600; }
.b.unreadable { color: var(--vscode-disabledForeground, #888); } .b input { width: 2ch; padding: 0; border: 1px solid var(--vscode-focusBorder); }
.message { color: var(--vscode-descriptionForeground); } .layer { margin-top: 14px; font-weight: 600; }
`;

/** Draws the page from #data and from {type:'update', state} messages; posts goto and write. Runs in the webview. */
const SCRIPT = `(() => {
  const vscode = acquireVsCodeApi();
  const root = document.getElementById('root');
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  const hex2 = (b) => (b === null ? '??' : b.toString(16).padStart(2, '0'));
  function edit(cell, layer, off) {
    const input = el('input', { value: hex2(layer.bytes[off]), maxlength: 2, 'aria-label': 'byte at 0x' + (layer.address + off).toString(16) });
    cell.replaceChildren(input);
    input.focus(); input.select();
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && /^[0-9a-fA-F]{1,2}$/.test(input.value)) vscode.postMessage({ type: 'write', address: layer.address + off, value: parseInt(input.value, 16) });
      if (ev.key === 'Enter' || ev.key === 'Escape') { ev.preventDefault(); cell.textContent = hex2(layer.bytes[off]); }
    });
    input.addEventListener('blur', () => { cell.textContent = hex2(layer.bytes[off]); });
  }
  function dump(layer) {
    const t = el('table', { class: 'dump', role: 'grid', 'aria-label': layer.title });
    const changed = new Set(layer.changed);
    for (let r = 0; r < layer.bytes.length; r += 16) {
      const tr = el('tr');
      tr.append(el('td', { class: 'addr' }, '0x' + (layer.address + r).toString(16).padStart(8, '0')));
      let ascii = '';
      for (let k = r; k < Math.min(r + 16, layer.bytes.length); k++) {
        const b = layer.bytes[k];
        const cls = 'b' + (b === null ? ' unreadable' : '') + (changed.has(k) ? ' changed' : '');
        const td = el('td', { class: cls, 'data-off': k, title: '0x' + (layer.address + k).toString(16) + (changed.has(k) ? ' (changed since the last stop)' : '') }, hex2(b));
        if (layer.writable && b !== null) td.addEventListener('dblclick', () => edit(td, layer, k));
        tr.append(td);
        ascii += b === null ? ' ' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
      }
      tr.append(el('td', { class: 'ascii' }, ascii));
      t.append(tr);
    }
    return t;
  }
  function draw(state) {
    root.replaceChildren();
    root.append(el('h2', {}, 'Guest memory'));
    const form = el('form');
    const expr = el('input', { id: 'expr', value: state.expression || '', size: 24, 'aria-label': 'address or expression (followed at each stop)' });
    const space = el('select', { id: 'space', 'aria-label': 'address space' });
    for (const [v, label] of [['gva', 'GVA (page tables)'], ['gpa', 'GPA'], ['under', 'GPA beneath an overlay']]) {
      const o = el('option', { value: v }, label); if (v === state.space) o.setAttribute('selected', ''); space.append(o);
    }
    const go = el('button', { type: 'submit' }, 'Go');
    form.append(expr, space, go);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); vscode.postMessage({ type: 'goto', expression: expr.value, space: space.value }); });
    root.append(form);
    if (state.subtitle) root.append(el('div', { class: 'sub' }, state.subtitle));
    if (state.message) root.append(el('p', { class: 'message' }, state.message));
    for (const layer of state.layers || []) {
      root.append(el('div', { class: 'layer' }, layer.title), dump(layer));
    }
    if ((state.layers || []).some((l) => l.writable)) root.append(el('p', { class: 'message' }, 'Double-click a byte to edit it (DAP writeMemory). Highlighted: changed since the last stop.'));
  }
  let state = JSON.parse(document.getElementById('data').textContent);
  draw(state);
  window.addEventListener('message', (ev) => { if (ev.data && ev.data.type === 'update') { state = ev.data.state; draw(state); } });
})();`;

export function memoryHtml(state: MemoryPageState, nonce: string): string {
  return webviewPage('Guest Memory', STYLE, SCRIPT, state, nonce);
}
