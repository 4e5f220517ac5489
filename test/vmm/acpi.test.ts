// The platform's firmware tables, parsed back by a guest that walks them the way a kernel does
// (guests/acpi-walk.asm): RSDP found by the 0xE0000 scan with a valid checksum, the XSDT's tables
// all with valid checksums, one enabled LAPIC entry per vCPU, the IOAPIC, the overrides, the FADT's
// PM timer block (and the PM timer advancing on virtual time), the FACS and the MP floating pointer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadImage } from '../../vm-core/loader/load-image';
import { Machine } from '../../vm-core/vmm/machine';
import { ACPI_PM_TMR, ACPI_LAYOUT } from '../../vm-core/vmm/acpi';

const u32 = (m: Uint8Array, a: number) => new DataView(m.buffer, m.byteOffset).getUint32(a, true);

for (const vcpus of [1, 3]) {
  test(`a guest walking the ACPI tables finds what the configuration has (${vcpus} vCPUs)`, () => {
    const img = loadImage(join(__dirname, 'guests', 'acpi-walk.asm'));
    assert.ok(img.ok && img.image.multiboot);
    const m = new Machine(img.image, { vcpus });
    assert.deepEqual(m.run(), { kind: 'exit-port', code: 0 }, 'RSDP found');
    const mem = m.mem, R = 0x200000;
    assert.equal(u32(mem, R), ACPI_LAYOUT.rsdp);
    assert.ok(u32(mem, R + 4) > 0xe0000 && u32(mem, R + 4) < 0xf0000, 'XSDT in the BIOS area');
    assert.equal(u32(mem, R + 8), 2, 'FADT and MADT');
    assert.equal(u32(mem, R + 12), 0, 'every checksum valid');
    assert.equal(u32(mem, R + 16), vcpus, 'one enabled LAPIC per vCPU');
    assert.equal(u32(mem, R + 20), 2, 'overrides: IRQ0 -> GSI 2, SCI');
    assert.equal(u32(mem, R + 24), 0xfec00000, 'IOAPIC address');
    assert.equal(u32(mem, R + 28), ACPI_PM_TMR);
    const t0 = u32(mem, R + 32), t1 = u32(mem, R + 36);
    assert.ok(t1 > t0 && t1 - t0 < 0x1000000, `PM timer advances (${t0} -> ${t1})`);
    assert.equal(u32(mem, R + 40), ACPI_LAYOUT.mp);
    assert.equal(String.fromCharCode(...mem.subarray(u32(mem, R + 44), u32(mem, R + 44) + 4)), 'FACS');
    // The MP configuration table: checksum and one processor entry per vCPU, BSP flagged.
    const table = u32(mem, ACPI_LAYOUT.mp + 4), len = mem[table + 4] | (mem[table + 5] << 8);
    assert.equal(String.fromCharCode(...mem.subarray(table, table + 4)), 'PCMP');
    assert.equal(mem.subarray(table, table + len).reduce((a, b) => (a + b) & 0xff, 0), 0);
    const cpus = [];
    for (let p = table + 44; mem[p] === 0; p += 20) cpus.push(mem[p + 3]);
    assert.deepEqual(cpus, [3, ...Array(vcpus - 1).fill(1)]);
  });
}

test('the tables are only written for multiboot kernels unless asked (platformTables)', () => {
  const img = loadImage(join(__dirname, '..', 'adapter', 'guests', 'exits.asm'));
  assert.ok(img.ok && !img.image.multiboot);
  const plain = new Machine(img.image, {});
  assert.equal(u32(plain.mem, ACPI_LAYOUT.rsdp), 0);
  const withTables = new Machine(img.image, { platformTables: true });
  assert.equal(String.fromCharCode(...withTables.mem.subarray(ACPI_LAYOUT.rsdp, ACPI_LAYOUT.rsdp + 8)), 'RSD PTR ');
});
