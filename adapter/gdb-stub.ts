// A GDB Remote Serial Protocol server (gdb "Remote Protocol" appendix) over the debug engine, so gdb,
// lldb and other RSP clients can attach to a guest: x86-64 and i386 target descriptions with segment,
// control, x87 and SSE registers, memory through the guest's page tables, Z0/Z1 breakpoints and Z2-Z4
// watchpoints, single step, vCont, vCPUs as threads, the memory map, Ctrl-C, and `monitor` commands
// for the exit-level features. Listens on 127.0.0.1 only. No VS Code import (adapter layer).
import { createServer, type Server, type Socket } from 'node:net';
import type { DebugEngine, StopEvent } from '../vm-core/debug/engine';
import { EXIT_FILTERS } from '../vm-core/debug/exit-filters';
import { CS, SS, DS, ES, FS, GS } from '../vm-core/cpu/state';
import type { VcpuView } from '../vm-core/debug/inspect';

const MAX_PACKET = 0x4000;

interface RegDef { name: string; bits: number; type?: string; group?: string; get(v: VcpuView): bigint | Uint8Array; set?(v: VcpuView, x: bigint): void }

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
function leHex(x: bigint, bytes: number): string {
  let s = '';
  let v = BigInt.asUintN(bytes * 8, x);
  for (let k = 0; k < bytes; k++) { s += hex2(Number(v & 0xffn)); v >>= 8n; }
  return s;
}
function parseLeHex(h: string): bigint {
  let v = 0n;
  for (let k = h.length - 2; k >= 0; k -= 2) v = (v << 8n) | BigInt(parseInt(h.slice(k, k + 2), 16));
  return v;
}
const toHex = (b: Uint8Array) => Array.from(b, hex2).join('');
const textHex = (s: string) => toHex(new TextEncoder().encode(s));

// Register numbering of gdb's amd64 / i386 target descriptions (features/i386/64bit-*.xml, 32bit-*.xml).
function registers(is64: boolean): RegDef[] {
  const gpr = (i: number) => (v: VcpuView) => v.gpr(i);
  const setGpr = (i: number) => (v: VcpuView, x: bigint) => v.setGpr(i, x);
  const seg = (s: number) => (v: VcpuView) => BigInt(v.v.cpu.seg[s].selector);
  const fx = (off: number, n: number) => (v: VcpuView) => v.v.cpu.fxArea.slice(off, off + n);
  const fxU = (off: number, n: number) => (v: VcpuView) => { const b = v.v.cpu.fxArea; let x = 0n; for (let k = n - 1; k >= 0; k--) x = (x << 8n) | BigInt(b[off + k]); return x; };
  const xmm = (i: number) => (v: VcpuView) => { const x = v.v.cpu.xmm; const out = new Uint8Array(16); const dv = new DataView(out.buffer); for (let k = 0; k < 4; k++) dv.setInt32(4 * k, x[4 * i + k], true); return out; };
  const out: RegDef[] = [];
  const W = is64 ? 64 : 32;
  const order = is64 ? [['rax', 0], ['rbx', 3], ['rcx', 1], ['rdx', 2], ['rsi', 6], ['rdi', 7], ['rbp', 5], ['rsp', 4],
    ['r8', 8], ['r9', 9], ['r10', 10], ['r11', 11], ['r12', 12], ['r13', 13], ['r14', 14], ['r15', 15]] as const
    : [['eax', 0], ['ecx', 1], ['edx', 2], ['ebx', 3], ['esp', 4], ['ebp', 5], ['esi', 6], ['edi', 7]] as const;
  for (const [n, i] of order) out.push({ name: n, bits: W, type: n.endsWith('sp') || n.endsWith('bp') ? 'data_ptr' : 'int' + W, get: gpr(i), set: setGpr(i) });
  out.push({ name: is64 ? 'rip' : 'eip', bits: W, type: 'code_ptr', get: (v) => BigInt(v.rip()), set: (v, x) => { const r = v.v.getRegs(); r.rip = x; v.v.setRegs(r); } });
  out.push({ name: 'eflags', bits: 32, type: 'i386_eflags', get: (v) => BigInt(v.rflags() >>> 0) });
  for (const [n, s] of [['cs', CS], ['ss', SS], ['ds', DS], ['es', ES], ['fs', FS], ['gs', GS]] as const) out.push({ name: n, bits: 32, type: 'int32', get: seg(s) });
  for (let i = 0; i < 8; i++) out.push({ name: `st${i}`, bits: 80, type: 'i387_ext', group: 'float', get: fx(32 + 16 * i, 10) });
  // FXSAVE layout (SDM Vol. 1 Table 10-2): FCW, FSW, FTW (abridged), FOP, FIP, FCS, FDP, FDS.
  const fp: [string, number, number][] = [['fctrl', 0, 2], ['fstat', 2, 2], ['ftag', 4, 1], ['fiseg', 12, 2], ['fioff', 8, 4], ['foseg', 20, 2], ['fooff', 16, 4], ['fop', 6, 2]];
  for (const [n, off, len] of fp) out.push({ name: n, bits: 32, type: 'int', group: 'float', get: fxU(off, len) });
  for (let i = 0; i < (is64 ? 16 : 8); i++) out.push({ name: `xmm${i}`, bits: 128, type: 'vec128', group: 'vector', get: xmm(i) });
  out.push({ name: 'mxcsr', bits: 32, type: 'i386_mxcsr', group: 'vector', get: (v) => BigInt(v.v.cpu.mxcsr >>> 0) });
  if (is64) {
    out.push({ name: 'fs_base', bits: 64, type: 'int', get: (v) => BigInt.asUintN(64, BigInt(Math.trunc(v.v.cpu.seg[FS].base))) });
    out.push({ name: 'gs_base', bits: 64, type: 'int', get: (v) => BigInt.asUintN(64, BigInt(Math.trunc(v.v.cpu.seg[GS].base))) });
  }
  for (const n of ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer']) out.push({ name: n, bits: W, type: 'int', group: 'system', get: (v) => v.registerValue(n) ?? 0n });
  return out;
}

function targetXml(is64: boolean, regs: RegDef[]): string {
  const reg = (r: RegDef, num: number) => `<reg name="${r.name}" bitsize="${r.bits}" regnum="${num}"${r.type ? ` type="${r.type}"` : ''}${r.group ? ` group="${r.group}"` : ''}/>`;
  const feature = (name: string, from: number, to: number, extra = '') => `<feature name="${name}">${extra}${regs.slice(from, to).map((r, k) => reg(r, from + k)).join('')}</feature>`;
  const nx = is64 ? 16 : 8;
  const core = 16 + 2 + 6 + 8 + 8 - (is64 ? 0 : 8); // GPRs, ip, eflags, segments, st0-7, x87 control
  const flagsType = '<flags id="i386_eflags" size="4"><field name="CF" start="0" end="0"/><field name="" start="1" end="1"/><field name="PF" start="2" end="2"/><field name="AF" start="4" end="4"/><field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/><field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/><field name="DF" start="10" end="10"/><field name="OF" start="11" end="11"/></flags>';
  const vec = '<vector id="v4f" type="ieee_single" count="4"/><vector id="v2d" type="ieee_double" count="2"/><vector id="v16i8" type="int8" count="16"/><vector id="v8i16" type="int16" count="8"/><vector id="v4i32" type="int32" count="4"/><vector id="v2i64" type="int64" count="2"/><union id="vec128"><field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/><field name="uint128" type="uint128"/></union><flags id="i386_mxcsr" size="4"><field name="IE" start="0" end="0"/><field name="DE" start="1" end="1"/><field name="ZE" start="2" end="2"/><field name="OE" start="3" end="3"/><field name="UE" start="4" end="4"/><field name="PE" start="5" end="5"/><field name="DAZ" start="6" end="6"/><field name="IM" start="7" end="7"/><field name="DM" start="8" end="8"/><field name="ZM" start="9" end="9"/><field name="OM" start="10" end="10"/><field name="UM" start="11" end="11"/><field name="PM" start="12" end="12"/><field name="FZ" start="15" end="15"/></flags>';
  const sse = core;
  const afterSse = sse + nx + 1;
  const segEnd = is64 ? afterSse + 2 : afterSse;
  return `<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target version="1.0"><architecture>${is64 ? 'i386:x86-64' : 'i386'}</architecture>`
    + feature('org.gnu.gdb.i386.core', 0, core, flagsType)
    + feature('org.gnu.gdb.i386.sse', sse, afterSse, vec)
    + (is64 ? feature('org.gnu.gdb.i386.segments', afterSse, segEnd) : '')
    + feature('org.qemu.gdb.x86.sys', segEnd, regs.length)
    + '</target>';
}

export interface GdbStubOptions { port: number; log?: (text: string) => void; }

/** One RSP server over one engine; one client at a time. */
export class GdbStub {
  private server: Server | undefined;
  private sock: Socket | undefined;
  private buf = '';
  private noAck = false;
  private waiting = false;
  private thread = 0;
  private regs: RegDef[];
  private is64: boolean;
  private swBps = new Set<number>();
  private watches: { type: number; addr: number; len: number; id?: number }[] = [];
  private ended: { code: number } | undefined;
  /** Called when the client detaches or kills the guest. */
  onDetach: (() => void) | undefined;

  constructor(readonly engine: DebugEngine, private opts: GdbStubOptions) {
    this.is64 = (engine.image.bits ?? 64) === 64 && engine.image.format !== 'elf32';
    this.regs = registers(this.is64);
  }

  /** Start listening; resolves with the bound port (0 picks a free one). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const srv = createServer((s) => this.accept(s));
      srv.on('error', reject);
      srv.listen(this.opts.port, '127.0.0.1', () => {
        const a = srv.address();
        resolve(typeof a === 'object' && a ? a.port : this.opts.port);
      });
      this.server = srv;
    });
  }

  close(): void { this.sock?.destroy(); this.server?.close(); }

  /** The engine stopped (breakpoint, step, pause, exit filter): report it to a waiting client. */
  onStopped(e: StopEvent): void {
    this.thread = e.vcpu;
    if (!this.waiting) return;
    this.waiting = false;
    this.send(this.stopReply(e));
  }

  /** The guest ended: W with its exit code. */
  onEnded(info: { code: number }): void {
    this.ended = info;
    if (this.waiting) { this.waiting = false; this.send(`W${hex2(info.code & 0xff)}`); }
  }

  private stopReply(e?: StopEvent): string {
    if (this.ended) return `W${hex2(this.ended.code & 0xff)}`;
    const sig = e?.reason === 'pause' ? '02' : '05';
    let extra = '';
    if (e?.reason === 'data breakpoint') {
      const w = this.watches.find((x) => e.hitBreakpointIds?.includes(x.id ?? -1));
      if (w) extra = `${w.type === 3 ? 'rwatch' : w.type === 4 ? 'awatch' : 'watch'}:${w.addr.toString(16)};`;
    } else if (e?.reason === 'instruction breakpoint') extra = 'swbreak:;';
    return `T${sig}thread:${(this.thread + 1).toString(16)};${extra}`;
  }

  private accept(s: Socket): void {
    if (this.sock && !this.sock.destroyed) { s.end(); return; }
    this.sock = s;
    this.buf = '';
    this.noAck = false;
    s.setEncoding('latin1');
    s.on('data', (d: string) => this.onData(d));
    s.on('error', () => { /* the client went away */ });
    s.on('close', () => { if (this.sock === s) this.sock = undefined; });
  }

  private onData(d: string): void {
    this.buf += d;
    if (this.buf.length > 4 * MAX_PACKET) { this.buf = ''; return; } // a runaway client: drop its garbage
    for (;;) {
      if (!this.buf.length) return;
      const c = this.buf[0];
      if (c === '+' || c === '-') { this.buf = this.buf.slice(1); continue; }
      if (c === '\x03') { this.buf = this.buf.slice(1); this.interrupt(); continue; }
      if (c !== '$') { this.buf = this.buf.slice(1); continue; }
      const hash = this.buf.indexOf('#');
      if (hash < 0 || this.buf.length < hash + 3) return;
      const body = unescape(this.buf.slice(1, hash));
      const sum = parseInt(this.buf.slice(hash + 1, hash + 3), 16);
      this.buf = this.buf.slice(hash + 3);
      let cs = 0;
      for (let k = 0; k < body.length; k++) cs = (cs + body.charCodeAt(k)) & 0xff;
      if (!this.noAck) this.sock?.write(cs === sum ? '+' : '-');
      if (cs !== sum && !this.noAck) continue;
      let reply: string | undefined;
      try { reply = this.handle(body); } catch (e) { reply = `E.${(e as Error).message}`; }
      if (reply !== undefined) this.send(reply);
    }
  }

  private send(body: string): void {
    let cs = 0;
    let esc = '';
    for (const ch of body) {
      if (ch === '$' || ch === '#' || ch === '}' || ch === '*') { esc += '}' + String.fromCharCode(ch.charCodeAt(0) ^ 0x20); }
      else esc += ch;
    }
    for (let k = 0; k < esc.length; k++) cs = (cs + esc.charCodeAt(k)) & 0xff;
    this.sock?.write(`$${esc}#${hex2(cs)}`, 'latin1');
  }

  private interrupt(): void {
    if (this.engine.state === 'running') this.engine.pause();
  }

  private view(): VcpuView { return this.engine.views[this.thread] ?? this.engine.views[0]; }

  // gdb "Packets": one request, one reply (undefined: the reply comes later, at the stop).
  private handle(p: string): string | undefined {
    const e = this.engine;
    if (p === '?') return this.stopReply(e.lastStop ?? undefined);
    if (p.startsWith('qSupported')) return `PacketSize=${MAX_PACKET.toString(16)};qXfer:features:read+;qXfer:memory-map:read+;vContSupported+;swbreak+;hwbreak+;QStartNoAckMode+`;
    if (p === 'QStartNoAckMode') { this.send('OK'); this.noAck = true; return undefined; }
    if (p.startsWith('qXfer:features:read:target.xml:')) return this.xfer(targetXml(this.is64, this.regs), p);
    if (p.startsWith('qXfer:memory-map:read::')) return this.xfer(this.memoryMap(), p);
    if (p === 'qfThreadInfo') return 'm' + e.views.map((_, i) => (i + 1).toString(16)).join(',');
    if (p === 'qsThreadInfo') return 'l';
    if (p === 'qC') return `QC${(this.thread + 1).toString(16)}`;
    if (p === 'qAttached') return '1';
    if (p.startsWith('qThreadExtraInfo,')) { const t = parseInt(p.slice(17), 16) - 1; return textHex(`vCPU ${t}`); }
    if (p.startsWith('H')) { const t = parseInt(p.slice(2), 16); if (t > 0 && t <= e.views.length) this.thread = t - 1; return 'OK'; }
    if (p.startsWith('T')) { const t = parseInt(p.slice(1), 16); return t > 0 && t <= e.views.length ? 'OK' : 'E01'; }
    if (p === 'g') return this.regs.map((r) => this.regHex(r)).join('');
    if (p.startsWith('G')) return this.writeAll(p.slice(1));
    if (p.startsWith('p')) { const r = this.regs[parseInt(p.slice(1), 16)]; return r ? this.regHex(r) : 'E00'; }
    if (p.startsWith('P')) {
      const [n, v] = p.slice(1).split('=');
      const r = this.regs[parseInt(n, 16)];
      if (!r?.set) return 'E01';
      const view = this.view();
      const x = parseLeHex(v ?? '');
      e.edit(`${r.name} = 0x${x.toString(16)}`, () => r.set!(view, x));
      return 'OK';
    }
    if (p.startsWith('m')) {
      const [a, l] = p.slice(1).split(',');
      const addr = parseInt(a, 16), len = Math.min(parseInt(l, 16), MAX_PACKET / 2);
      if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(len)) return 'E01';
      const r = this.view().readable(this.signed(addr), len, false);
      return r.offset === 0 && r.bytes.length ? toHex(r.bytes) : 'E14';
    }
    if (p.startsWith('M')) {
      const m = /^M([0-9a-f]+),([0-9a-f]+):([0-9a-f]*)$/i.exec(p);
      if (!m) return 'E01';
      const addr = this.signed(parseInt(m[1], 16));
      const data = Uint8Array.from(m[3].match(/../g) ?? [], (h) => parseInt(h, 16));
      const view = this.view();
      let n = 0;
      e.edit(`write ${data.length} bytes at 0x${addr.toString(16)}`, () => { n = view.writeMemory(addr, data, false); });
      return n === data.length ? 'OK' : 'E14';
    }
    if (/^[Zz][0-4],/.test(p)) return this.breakpoint(p);
    if (p === 'vCont?') return 'vCont;c;C;s;S;t';
    if (p.startsWith('vCont;')) return this.vCont(p.slice(6));
    if (p === 'c' || p.startsWith('c') || p.startsWith('C')) return this.resume();
    if (p === 's' || p.startsWith('s') || p.startsWith('S')) return this.step(this.thread);
    if (p.startsWith('qRcmd,')) return textHex(this.monitor(Buffer.from(p.slice(6), 'hex').toString('utf8')));
    if (p === 'k') { e.pause(); e.state = 'ended'; this.sock?.end(); this.onDetach?.(); return undefined; }
    if (p.startsWith('D')) { this.send('OK'); this.sock?.end(); this.onDetach?.(); return undefined; }
    return ''; // unsupported packet
  }

  private signed(a: number): number {
    return this.is64 && a >= 2 ** 63 ? a - 2 ** 64 : a;
  }

  private regHex(r: RegDef): string {
    const v = r.get(this.view());
    return typeof v === 'bigint' ? leHex(v, r.bits / 8) : toHex(v).padEnd(r.bits / 4, '0');
  }

  private writeAll(h: string): string {
    let at = 0;
    const view = this.view();
    for (const r of this.regs) {
      const n = r.bits / 4;
      const part = h.slice(at, at + n);
      at += n;
      if (part.length < n) break;
      if (r.set && !/x/i.test(part)) {
        const x = parseLeHex(part);
        const cur = r.get(view);
        if (typeof cur === 'bigint' && cur !== x) this.engine.edit(`${r.name} = 0x${x.toString(16)}`, () => r.set!(view, x));
      }
    }
    return 'OK';
  }

  private xfer(doc: string, p: string): string {
    const m = /:([0-9a-f]+),([0-9a-f]+)$/i.exec(p);
    if (!m) return 'E00';
    const off = parseInt(m[1], 16), len = parseInt(m[2], 16);
    const chunk = doc.slice(off, off + len);
    return (off + len >= doc.length ? 'l' : 'm') + chunk;
  }

  private memoryMap(): string {
    const size = this.engine.options.memory;
    return `<?xml version="1.0"?><!DOCTYPE memory-map PUBLIC "+//IDN gnu.org//DTD GDB Memory Map V1.0//EN" "http://sourceware.org/gdb/gdb-memory-map.dtd"><memory-map><memory type="ram" start="0x0" length="0x${size.toString(16)}"/></memory-map>`;
  }

  // Z0/Z1: breakpoints (both as the engine's instruction breakpoints); Z2 write, Z3 read, Z4 access watchpoints.
  private breakpoint(p: string): string {
    const [head, a, k] = p.split(',');
    const insert = head[0] === 'Z', type = Number(head[1]);
    const addr = this.signed(parseInt(a, 16)), len = parseInt(k, 16);
    if (!Number.isSafeInteger(addr)) return 'E01';
    const e = this.engine;
    if (type <= 1) {
      if (insert) this.swBps.add(addr); else this.swBps.delete(addr);
      e.setInstructionBreakpoints([...this.swBps].map((address) => ({ address })));
      return 'OK';
    }
    if (!(len >= 1 && len <= 4096)) return 'E01';
    if (insert) this.watches.push({ type, addr, len });
    else { const i = this.watches.findIndex((w) => w.type === type && w.addr === addr && w.len === len); if (i >= 0) this.watches.splice(i, 1); }
    const set = e.setDataBreakpoints(this.watches.map((w) => ({
      kind: 'memory' as const, address: w.addr, size: w.len, physical: false,
      access: w.type === 2 ? 'write' as const : w.type === 3 ? 'read' as const : 'readWrite' as const,
      description: `watchpoint ${w.len} bytes at 0x${w.addr.toString(16)}`,
    })));
    this.watches.forEach((w, i) => { w.id = set[i]?.id; });
    return 'OK';
  }

  private vCont(actions: string): string | undefined {
    // The first action that applies wins; vCPUs run together (all-stop), so `c` resumes all.
    for (const a of actions.split(';')) {
      const [act, tid] = a.split(':');
      const t = tid === undefined || tid === '-1' ? this.thread : parseInt(tid, 16) - 1;
      if (act === 's' || act[0] === 'S') return this.step(t);
      if (act === 'c' || act[0] === 'C') return this.resume();
      if (act === 't') { this.interrupt(); return undefined; }
    }
    return 'E01';
  }

  private resume(): string | undefined {
    if (this.ended) return this.stopReply();
    this.waiting = true;
    this.engine.resume();
    return undefined;
  }

  private step(vi: number): string | undefined {
    if (this.ended) return this.stopReply();
    if (!this.engine.views[vi]) vi = this.thread;
    this.waiting = true;
    this.engine.step(vi, 'instruction');
    return undefined;
  }

  /** `monitor` commands: info exits, exit-break FILTER [CONDITION], exit-break clear, help. */
  monitor(cmd: string): string {
    const e = this.engine;
    const words = cmd.trim().split(/\s+/);
    if (words[0] === 'info' && words[1] === 'exits') {
      const s = e.statistics();
      if (!s.byReason.length) return 'no exits yet\n';
      return s.byReason.map((r) => `${r.reason.padEnd(28)} ${r.count}\n`).join('') + `instructions ${s.totalInstructions}\n`;
    }
    if (words[0] === 'exit-break') {
      if (words[1] === 'clear' || words[1] === undefined) { e.setExitFilters([], []); this.filters.clear(); return 'exit breakpoints cleared\n'; }
      const name = words[1];
      const f = EXIT_FILTERS.find((x) => x.filter === name) ?? EXIT_FILTERS.find((x) => x.filter === `kvm-${name}`) ?? EXIT_FILTERS.find((x) => x.filter === `hw-${name}`);
      if (!f) return `unknown exit '${name}'; one of: ${EXIT_FILTERS.map((x) => x.filter).join(', ')}\n`;
      const condition = words.slice(2).join(' ') || undefined;
      this.filters.set(f.filter, condition);
      const errors = e.setExitFilters([], [...this.filters].map(([filterId, c]) => ({ filterId, condition: c })));
      const err = errors.get(f.filter);
      if (err) { this.filters.delete(f.filter); return `exit-break ${f.filter}: ${err}\n`; }
      return `stop at ${f.label}${condition ? ` when ${condition}` : ''}\n`;
    }
    if (words[0] === 'help' || words[0] === '') return 'monitor info exits | monitor exit-break FILTER [CONDITION] | monitor exit-break clear\n';
    return `unknown monitor command '${cmd.trim()}' (monitor help)\n`;
  }
  private filters = new Map<string, string | undefined>();
}

/** RSP binary escapes in a received packet (`}` then the byte XOR 0x20). */
function unescape(s: string): string {
  if (!s.includes('}')) return s;
  let out = '';
  for (let k = 0; k < s.length; k++) out += s[k] === '}' && k + 1 < s.length ? String.fromCharCode(s.charCodeAt(++k) ^ 0x20) : s[k];
  return out;
}
