// DWARF expressions (DWARF 5 §2.5) and location descriptions (§2.6): the stack machine over 64-bit
// values that says where a variable lives (memory, a register, an implicit value, pieces).
// Bounded (operation count, stack depth), and never throws: problems become an 'error' location.

/** What the expression needs from the frame it is evaluated in. */
export interface LocationContext {
  addressSize: number;
  /** A register by DWARF number, or undefined when it is not known in this frame. */
  reg(n: number): bigint | undefined;
  /** Read `size` bytes at a (linear) address, or undefined when unreadable. */
  read(addr: bigint, size: number): bigint | undefined;
  /** DW_AT_frame_base of the function, evaluated (DW_OP_fbreg). */
  frameBase?(): bigint | undefined;
  /** The canonical frame address of the frame (DW_OP_call_frame_cfa). */
  cfa?(): bigint | undefined;
  /** A register's value on entry to the function (DW_OP_entry_value), when the unwinder knows it. */
  entryReg?(n: number): bigint | undefined;
}

export type Location =
  | { kind: 'memory'; addr: bigint }
  | { kind: 'register'; reg: number }
  | { kind: 'value'; value: bigint }
  | { kind: 'implicit'; bytes: Uint8Array }
  /** DW_OP_piece / DW_OP_bit_piece: parts in order, each `bits` wide, taken from bit `offset` of its location. */
  | { kind: 'pieces'; pieces: { loc: Location; bits: number; offset: number }[] }
  | { kind: 'optimized' }
  | { kind: 'error'; message: string };

const M64 = (1n << 64n) - 1n;
const MAX_OPS = 10_000;
const MAX_STACK = 1024;

class LocError extends Error {}

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  get end(): boolean { return this.pos >= this.b.length; }
  u8(): number { if (this.pos >= this.b.length) throw new LocError('truncated expression'); return this.b[this.pos++]; }
  uN(n: number): bigint { let v = 0n; for (let k = 0; k < n; k++) v |= BigInt(this.u8()) << BigInt(8 * k); return v; }
  sN(n: number): bigint { return BigInt.asIntN(8 * n, this.uN(n)); }
  uleb(): bigint { let v = 0n, s = 0n; for (;;) { const b = this.u8(); if (s < 70n) v |= BigInt(b & 0x7f) << s; s += 7n; if (!(b & 0x80)) return v; } }
  sleb(): bigint { let v = 0n, s = 0n, b: number; do { b = this.u8(); if (s < 70n) v |= BigInt(b & 0x7f) << s; s += 7n; } while (b & 0x80); if (b & 0x40) v -= 1n << s; return v; }
}

// §2.5.1 and §2.6.1: evaluates `expr`; `initial` is pushed first (DW_AT_data_member_location style).
export function evaluateLocation(expr: Uint8Array, ctx: LocationContext, initial?: bigint, depth = 0): Location {
  try {
    return run(expr, ctx, initial, depth);
  } catch (e) {
    return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
  }
}

function run(expr: Uint8Array, ctx: LocationContext, initial: bigint | undefined, depth: number): Location {
  if (expr.length === 0) return { kind: 'optimized' }; // §2.6.1.1.1: an empty description
  const r = new Reader(expr);
  const st: bigint[] = initial === undefined ? [] : [initial];
  const push = (v: bigint) => { if (st.length >= MAX_STACK) throw new LocError('expression stack overflow'); st.push(v & M64); };
  const pop = () => { const v = st.pop(); if (v === undefined) throw new LocError('expression stack underflow'); return v; };
  const need = <T>(v: T | undefined, what: string): T => { if (v === undefined) throw new LocError(`${what} is not available`); return v; };
  const regv = (n: number) => need(ctx.reg(n), `DWARF register ${n}`);
  const amask = ctx.addressSize === 4 ? 0xffffffffn : M64;
  const pieces: { loc: Location; bits: number; offset: number }[] = [];
  let loc: Location | undefined; // a register / implicit location waiting for its DW_OP_piece
  let ops = 0;
  while (!r.end) {
    if (++ops > MAX_OPS) throw new LocError('expression too long');
    const op = r.u8();
    if (op >= 0x30 && op <= 0x4f) { push(BigInt(op - 0x30)); continue; } // DW_OP_lit0..31
    if (op >= 0x50 && op <= 0x6f) { loc = { kind: 'register', reg: op - 0x50 }; continue; } // DW_OP_reg0..31
    if (op >= 0x70 && op <= 0x8f) { const off = r.sleb(); push(regv(op - 0x70) + off); continue; } // DW_OP_breg0..31
    switch (op) {
      case 0x03: push(r.uN(ctx.addressSize)); break; // addr
      case 0x06: push(need(ctx.read(pop() & amask, ctx.addressSize), 'memory')); break; // deref
      case 0x08: push(r.uN(1)); break; case 0x09: push(r.sN(1)); break; // const1u/s
      case 0x0a: push(r.uN(2)); break; case 0x0b: push(r.sN(2)); break;
      case 0x0c: push(r.uN(4)); break; case 0x0d: push(r.sN(4)); break;
      case 0x0e: push(r.uN(8)); break; case 0x0f: push(r.sN(8)); break;
      case 0x10: push(r.uleb()); break; case 0x11: push(r.sleb()); break; // constu/s
      case 0x12: push(st.length ? st[st.length - 1] : pop()); break; // dup
      case 0x13: pop(); break; // drop
      case 0x14: { if (st.length < 2) throw new LocError('expression stack underflow'); push(st[st.length - 2]); break; } // over
      case 0x15: { const i = r.u8(); if (i >= st.length) throw new LocError('DW_OP_pick past the stack'); push(st[st.length - 1 - i]); break; }
      case 0x16: { const a = pop(), b = pop(); push(a); push(b); break; } // swap
      case 0x17: { const a = pop(), b = pop(), c = pop(); push(a); push(c); push(b); break; } // rot
      case 0x19: { const a = BigInt.asIntN(64, pop()); push(a < 0n ? -a : a); break; } // abs
      case 0x1a: { const b = pop(), a = pop(); push(a & b); break; } // and
      case 0x1b: { const b = BigInt.asIntN(64, pop()), a = BigInt.asIntN(64, pop()); if (b === 0n) throw new LocError('division by zero'); push(a / b); break; }
      case 0x1c: { const b = pop(), a = pop(); push(a - b); break; } // minus
      case 0x1d: { const b = pop(), a = pop(); if (b === 0n) throw new LocError('division by zero'); push(a % b); break; }
      case 0x1e: { const b = pop(), a = pop(); push(a * b); break; } // mul
      case 0x1f: push(-pop()); break; // neg
      case 0x20: push(~pop()); break; // not
      case 0x21: { const b = pop(), a = pop(); push(a | b); break; }
      case 0x22: { const b = pop(), a = pop(); push(a + b); break; } // plus
      case 0x23: push(pop() + r.uleb()); break; // plus_uconst
      case 0x24: { const b = pop(), a = pop(); push(b >= 64n ? 0n : a << b); break; } // shl
      case 0x25: { const b = pop(), a = pop(); push(b >= 64n ? 0n : a >> b); break; } // shr
      case 0x26: { const b = pop(), a = BigInt.asIntN(64, pop()); push(a >> (b > 63n ? 63n : b)); break; } // shra
      case 0x27: { const b = pop(), a = pop(); push(a ^ b); break; } // xor
      case 0x28: { const off = Number(r.sN(2)); if (pop() !== 0n) jump(r, off); break; } // bra
      case 0x29: { const b = pop(), a = pop(); push(a === b ? 1n : 0n); break; }
      case 0x2a: { const b = BigInt.asIntN(64, pop()), a = BigInt.asIntN(64, pop()); push(a >= b ? 1n : 0n); break; }
      case 0x2b: { const b = BigInt.asIntN(64, pop()), a = BigInt.asIntN(64, pop()); push(a > b ? 1n : 0n); break; }
      case 0x2c: { const b = BigInt.asIntN(64, pop()), a = BigInt.asIntN(64, pop()); push(a <= b ? 1n : 0n); break; }
      case 0x2d: { const b = BigInt.asIntN(64, pop()), a = BigInt.asIntN(64, pop()); push(a < b ? 1n : 0n); break; }
      case 0x2e: { const b = pop(), a = pop(); push(a !== b ? 1n : 0n); break; }
      case 0x2f: jump(r, Number(r.sN(2))); break; // skip
      case 0x90: loc = { kind: 'register', reg: Number(r.uleb()) }; break; // regx
      case 0x91: { const off = r.sleb(); push(need(ctx.frameBase?.(), 'the frame base') + off); break; } // fbreg
      case 0x92: { const reg = Number(r.uleb()); const off = r.sleb(); push(regv(reg) + off); break; } // bregx
      case 0x93: case 0x9d: { // piece (bytes), bit_piece (bits, offset)
        const bits = op === 0x93 ? Number(r.uleb()) * 8 : Number(r.uleb());
        const offset = op === 0x9d ? Number(r.uleb()) : 0;
        if (bits > 1 << 20 || offset > 1 << 20) throw new LocError('piece too large');
        pieces.push({ loc: loc ?? (st.length ? { kind: 'memory', addr: pop() & amask } : { kind: 'optimized' }), bits, offset });
        loc = undefined;
        st.length = 0;
        break;
      }
      case 0x94: { const n = r.u8(); push(need(ctx.read(pop() & amask, n), 'memory')); break; } // deref_size
      case 0x96: break; // nop
      case 0x9c: push(need(ctx.cfa?.(), 'the call frame address')); break; // call_frame_cfa
      case 0x9e: { const n = Number(r.uleb()); const b = new Uint8Array(n); for (let k = 0; k < n; k++) b[k] = r.u8(); loc = { kind: 'implicit', bytes: b }; break; } // implicit_value
      case 0x9f: loc = { kind: 'value', value: pop() }; break; // stack_value
      case 0xa3: case 0xf3: { // entry_value / GNU_entry_value
        const n = Number(r.uleb());
        const sub = expr.subarray(r.pos, r.pos + n);
        r.pos += n;
        if (depth > 2) throw new LocError('entry value nested too deep');
        // Resolvable when the sub-expression is a register whose entry value the unwinder knows.
        let reg: number | undefined;
        if (sub.length === 1 && sub[0] >= 0x50 && sub[0] <= 0x6f) reg = sub[0] - 0x50;
        else if (sub.length >= 2 && sub[0] === 0x90) reg = Number(new Reader(sub.subarray(1)).uleb());
        if (reg === undefined) throw new LocError('DW_OP_entry_value of a memory location');
        push(need(ctx.entryReg?.(reg), `the entry value of DWARF register ${reg}`));
        break;
      }
      case 0x9b: case 0xe0: throw new LocError(`DW_OP ${hexOp(op)} (thread-local storage) is not supported`);
      default: throw new LocError(`unsupported DWARF operation ${hexOp(op)}`);
    }
  }
  if (pieces.length) return { kind: 'pieces', pieces };
  if (loc) return loc;
  if (!st.length) throw new LocError('expression leaves nothing on the stack');
  return { kind: 'memory', addr: st[st.length - 1] & amask };
}

function jump(r: Reader, off: number): void {
  const to = r.pos + off;
  if (to < 0 || to > r.b.length) throw new LocError('branch outside the expression');
  r.pos = to;
}

function hexOp(op: number): string { return '0x' + op.toString(16); }

/** DWARF register numbers (System V psABI x86-64 §3.6.2 figure 3.36; i386 psABI table 2.14). */
export const DWARF_REGS_64 = ['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'];
export const DWARF_REGS_32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'eip'];
