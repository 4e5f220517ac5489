// The default VMM's guest-physical memory layout and the BIOS e820 map that describes it (ACPI spec
// "System Address Map Interfaces"; QEMU hw/i386/e820_memory_layout.h, SeaBIOS src/fw/paravirt.c).
// Shared by every boot protocol the VMM implements (multiboot's mmap, the Linux zero page's e820_table).

/** e820 entry types (ACPI "Address Range Types"). */
export const E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4;

/** Fixed guest-physical addresses of the PC platform this VMM models. */
export const PC_LAYOUT = {
  /** Extended BIOS data area: the last KiB of conventional memory (BDA word 0x40E holds its segment). */
  ebda: 0x9fc00,
  /** Legacy VGA/SMRAM hole, then option ROMs: not RAM to the guest, not listed. */
  vgaHole: 0xa0000,
  /** The BIOS area: the VMM's ACPI tables and MP table live here (0xE0000-0xFFFFF, scanned for "RSD PTR "). */
  biosArea: 0xe0000,
  highMem: 0x100000,
  ioapic: 0xfec00000,
  lapic: 0xfee00000,
  /** KVM's identity-map page and the three real-mode TSS pages QEMU sets (KVM_SET_IDENTITY_MAP_ADDR). */
  kvmTss: 0xfeffc000,
} as const;

export interface E820Entry { addr: number; size: number; type: number; }

/** The e820 map of a VM with `memSize` bytes of RAM at GPA 0 (below the 4 GiB hole). */
export function e820Map(memSize: number): E820Entry[] {
  const map: E820Entry[] = [];
  const low = Math.min(memSize, PC_LAYOUT.ebda);
  if (low > 0) map.push({ addr: 0, size: low, type: E820_RAM });
  if (memSize > PC_LAYOUT.ebda) map.push({ addr: PC_LAYOUT.ebda, size: PC_LAYOUT.vgaHole - PC_LAYOUT.ebda, type: E820_RESERVED });
  if (memSize > PC_LAYOUT.biosArea) map.push({ addr: PC_LAYOUT.biosArea, size: PC_LAYOUT.highMem - PC_LAYOUT.biosArea, type: E820_RESERVED });
  if (memSize > PC_LAYOUT.highMem) map.push({ addr: PC_LAYOUT.highMem, size: memSize - PC_LAYOUT.highMem, type: E820_RAM });
  map.push({ addr: PC_LAYOUT.kvmTss, size: 0x4000, type: E820_RESERVED });
  return map;
}

/** Multiboot mem_lower (KiB of conventional memory, INT 12h) and mem_upper (KiB of RAM contiguous from 1 MiB). */
export function memLowerUpper(map: E820Entry[]): { lower: number; upper: number } {
  let lower = 0, upper = 0;
  for (const e of map) {
    if (e.type !== E820_RAM) continue;
    if (e.addr === 0) lower = Math.floor(e.size / 1024);
    if (e.addr <= PC_LAYOUT.highMem && e.addr + e.size > PC_LAYOUT.highMem) upper = Math.floor((e.addr + e.size - PC_LAYOUT.highMem) / 1024);
  }
  return { lower, upper };
}
