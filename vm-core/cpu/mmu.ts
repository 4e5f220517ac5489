// Linear-address translation (Intel SDM Vol. 3A ch. 4): 32-bit paging (4K, 4M with PSE), PAE,
// 4-level paging (4K/2M/1G), with NX, WP, U/S, SMEP, SMAP, accessed/dirty bits and #PF error codes.
import type { Cpu } from './cpu';
import { AC, CR0_WP, CR4_PAE, CR4_PGE, CR4_PSE, CR4_SMAP, CR4_SMEP, EFER_LMA, EFER_NXE } from './state';

export const ACC_WRITE = 1, ACC_USER = 2, ACC_FETCH = 4, ACC_IMPLICIT = 8;

// #PF error code bits (SDM Vol. 3A 4.7).
export const PFEC_P = 1, PFEC_W = 2, PFEC_U = 4, PFEC_RSVD = 8, PFEC_I = 16, PFEC_PK = 32;

const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;

/** Bits 51:MAXPHYADDR of an entry that must be zero; MAXPHYADDR = 46 here (like many CPUs' guests). */
export const MAXPHYADDR = 46;
const HI_RSVD = (~((1 << (MAXPHYADDR - 32)) - 1)) & 0x000fffff; // bits 51:46 of the high half

/** Read a 64-bit page-table entry at a guest-physical address; returns [lo, hi] via cpu.hi. */
function readPte64(c: Cpu, gpa: number): number {
  const r = c.bus.regionAt(gpa);
  if (!r) { c.hi = -1; return -1; } // unbacked paging structures read as all ones (reserved bits set)
  const o = gpa - r.gpa;
  c.hi = r.dv.getInt32(o + 4, true);
  return r.dv.getInt32(o, true);
}
function readPte32(c: Cpu, gpa: number): number {
  const r = c.bus.regionAt(gpa);
  if (!r) return -1;
  return r.dv.getInt32(gpa - r.gpa, true);
}
/** Set accessed/dirty bits in an entry (a locked read-modify-write on hardware). */
function setBits(c: Cpu, gpa: number, bits: number): void {
  const r = c.bus.regionAt(gpa);
  if (!r || r.readonly) return;
  const o = gpa - r.gpa;
  const v = r.dv.getInt32(o, true);
  if ((v & bits) !== bits) {
    c.bus.prepareWrite(gpa, 4);
    r.dv.setInt32(o, v | bits, true);
    c.bus.noteWrite(gpa, 4);
  }
}

/** Record a #PF (address in cpu.pfAddr, error code in cpu.pfError) and return -1: the walk failed. */
function pageFault(c: Cpu, lin: number, acc: number, present: boolean, rsvd: boolean): number {
  let ec = present ? PFEC_P : 0;
  if (acc & ACC_WRITE) ec |= PFEC_W;
  if ((acc & ACC_USER) && !(acc & ACC_IMPLICIT)) ec |= PFEC_U;
  if (rsvd) ec |= PFEC_RSVD;
  if ((acc & ACC_FETCH) && ((c.efer & EFER_NXE) || (c.cr4 & CR4_SMEP))) ec |= PFEC_I;
  c.pfAddr = lin;
  c.pfError = ec;
  return -1;
}

/**
 * Walk the paging structures for `lin`. Returns the guest-physical address, or -1 for a #PF with
 * cpu.pfAddr and cpu.pfError set (CR2 is written when the fault is delivered, not on a #PF VM exit).
 * Never throws: Cpu.translate raises the #PF, Cpu.tryTranslate lets the hypervisor look.
 */
export function pageWalk(c: Cpu, lin: number, acc: number): number {
  const user = (acc & ACC_USER) !== 0 && (acc & ACC_IMPLICIT) === 0;
  const write = (acc & ACC_WRITE) !== 0;
  const fetch = (acc & ACC_FETCH) !== 0;
  const nxe = (c.efer & EFER_NXE) !== 0;
  let allowW = true, allowU = true, nx = false;
  let gpa: number;
  const lo32 = lin >>> 0;

  if (!(c.cr4 & CR4_PAE)) {
    // 32-bit paging (SDM 4.3).
    const pdeAddr = ((c.cr3 & 0xfffff000) >>> 0) + ((lo32 >>> 22) << 2);
    const pde = readPte32(c, pdeAddr);
    if (!(pde & P)) return pageFault(c, lin, acc, false, false);
    allowW = (pde & RW) !== 0; allowU = (pde & US) !== 0;
    if ((pde & PS) && (c.cr4 & CR4_PSE)) {
      // 4-MByte page: bits 20:13 hold physical address bits 39:32; bit 21 reserved.
      if (pde & 0x200000) return pageFault(c, lin, acc, true, true);
      if (checkAccess(c, lin, acc, user, write, fetch, allowW, allowU, false) < 0) return -1;
      setBits(c, pdeAddr, A | (write ? D : 0));
      c.lastWalkGlobal = (pde & G) !== 0 && (c.cr4 & CR4_PGE) !== 0;
      c.lastWalkLarge = true;
      return ((pde & 0xffc00000) >>> 0) + ((pde >>> 13) & 0xff) * 4294967296 + (lo32 & 0x3fffff);
    }
    setBits(c, pdeAddr, A);
    const pteAddr = (pde & 0xfffff000) + (((lo32 >>> 12) & 0x3ff) << 2);
    const pte = readPte32(c, pteAddr >>> 0);
    if (!(pte & P)) return pageFault(c, lin, acc, false, false);
    allowW = allowW && (pte & RW) !== 0; allowU = allowU && (pte & US) !== 0;
    if (checkAccess(c, lin, acc, user, write, fetch, allowW, allowU, false) < 0) return -1;
    setBits(c, pteAddr >>> 0, A | (write ? D : 0));
    c.lastWalkGlobal = (pte & G) !== 0 && (c.cr4 & CR4_PGE) !== 0;
    c.lastWalkLarge = false;
    return ((pte & 0xfffff000) >>> 0) + (lo32 & 0xfff);
  }

  const rsvdNx = nxe ? 0 : 0x80000000 | 0; // XD bit reserved when EFER.NXE = 0
  let table: number;
  let level: number;
  if (c.efer & EFER_LMA) {
    // 4-level paging (SDM 4.5): PML4 -> PDPT -> PD -> PT.
    table = c.cr3 - (c.cr3 % 4096);
    level = 4;
  } else {
    // PAE paging (SDM 4.4): PDPTE registers loaded from CR3.
    const idx = (lo32 >>> 30) & 3;
    const pdpteLo = c.pdpte[idx] % 4294967296, pdpteHi = Math.floor(c.pdpte[idx] / 4294967296);
    if (!(pdpteLo & P)) return pageFault(c, lin, acc, false, false);
    table = (pdpteHi & 0xfffff) * 4294967296 + ((pdpteLo & 0xfffff000) >>> 0);
    level = 2;
  }
  // Index bits per level: 4 -> 47:39, 3 -> 38:30, 2 -> 29:21, 1 -> 20:12.
  const vpnHi = Math.floor(lin / 4294967296) & 0xffff; // bits 47:32 (sign bits already checked)
  for (; level >= 1; level--) {
    let index: number;
    switch (level) {
      case 4: index = (vpnHi >>> 7) & 0x1ff; break;
      case 3: index = ((vpnHi & 0x7f) << 2) | (lo32 >>> 30); break;
      case 2: index = (lo32 >>> 21) & 0x1ff; break;
      default: index = (lo32 >>> 12) & 0x1ff;
    }
    const eAddr = table + index * 8;
    const lo = readPte64(c, eAddr), hi = c.hi;
    if (!(lo & P)) return pageFault(c, lin, acc, false, false);
    if ((hi & HI_RSVD) || (hi & rsvdNx)) return pageFault(c, lin, acc, true, true);
    if (level === 4 && (lo & PS)) return pageFault(c, lin, acc, true, true);
    allowW = allowW && (lo & RW) !== 0;
    allowU = allowU && (lo & US) !== 0;
    if (hi < 0 && nxe) nx = true;
    const base = (hi & 0xfffff) * 4294967296 + ((lo & 0xfffff000) >>> 0);
    if (level === 1 || (lo & PS)) {
      let offMask: number;
      if (level === 3) { if (lo & 0x3fffe000) return pageFault(c, lin, acc, true, true); offMask = 0x3fffffff; }
      else if (level === 2) { if (lo & 0x1fe000) return pageFault(c, lin, acc, true, true); offMask = 0x1fffff; }
      else offMask = 0xfff;
      if (checkAccess(c, lin, acc, user, write, fetch, allowW, allowU, nx) < 0) return -1;
      setBits(c, eAddr, A | (write ? D : 0));
      c.lastWalkGlobal = (lo & G) !== 0 && (c.cr4 & CR4_PGE) !== 0;
      c.lastWalkLarge = level > 1;
      gpa = (base - (base % (offMask + 1))) + (lo32 & offMask);
      return gpa;
    }
    setBits(c, eAddr, A);
    table = base;
  }
  return pageFault(c, lin, acc, false, false);
}

/** Permission checks of SDM 4.6 for the combined rights of the walk: 0 allowed, -1 #PF recorded. */
function checkAccess(c: Cpu, lin: number, acc: number, user: boolean, write: boolean, fetch: boolean,
  allowW: boolean, allowU: boolean, nx: boolean): number {
  if (user) {
    if (!allowU) return pageFault(c, lin, acc, true, false);
    if (write && !allowW) return pageFault(c, lin, acc, true, false);
    if (fetch && nx) return pageFault(c, lin, acc, true, false);
    return 0;
  }
  // Supervisor-mode access.
  if (fetch) {
    if (nx) return pageFault(c, lin, acc, true, false);
    if (allowU && (c.cr4 & CR4_SMEP)) return pageFault(c, lin, acc, true, false);
    return 0;
  }
  if (allowU && (c.cr4 & CR4_SMAP)) {
    // SMAP (SDM 4.6.1): explicit accesses allowed only with RFLAGS.AC = 1 (at CPL < 3); implicit never.
    const implicit = (acc & ACC_IMPLICIT) !== 0;
    if (implicit || !(c.rflags & AC)) return pageFault(c, lin, acc, true, false);
  }
  if (write && !allowW && (c.cr0 & CR0_WP)) return pageFault(c, lin, acc, true, false);
  return 0;
}

/** Load the four PAE PDPTEs from CR3 (SDM 4.4.1); returns false if any has reserved bits set. */
export function loadPdptrs(c: Cpu, cr3: number): boolean {
  const base = ((cr3 >>> 0) & 0xffffffe0) >>> 0;
  const out = [0, 0, 0, 0];
  for (let k = 0; k < 4; k++) {
    const lo = readPte64(c, base + k * 8), hi = c.hi;
    if (lo & P) {
      if ((lo & 0x1e6) || (hi & HI_RSVD) || hi < 0) return false; // bits 2:1, 8:5 and 63 reserved
    }
    out[k] = (hi >>> 0) * 4294967296 + (lo >>> 0);
  }
  for (let k = 0; k < 4; k++) c.pdpte[k] = out[k];
  return true;
}
