// Overlay pages in the physical bus (seed 002): an overlay hides the RAM page at its GPA from the
// processor, the VMM's accessors and the 'visible' layer; the RAM beneath is never touched and
// comes back when the overlay goes; decoded code and TLB entries follow the change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysBus } from '../../vm-core/cpu/phys';
import { longModeGuest, runOnce, ioByte } from './helpers';
import { KVM_EXIT_IO } from '../../vm-core/kvm';

test('bus overlay: visible layer shows the overlay, underlying layer the RAM; removal uncovers it', () => {
  const bus = new PhysBus();
  const ram = new Uint8Array(0x4000);
  ram.fill(0xaa, 0x1000, 0x2000);
  bus.setRegion(0, 0, ram, false);
  const gen = bus.generation;
  bus.setOverlay(0x1234, Uint8Array.of(0x0f, 0x01, 0xc1, 0xc3));
  assert.ok(bus.generation > gen);
  assert.ok(bus.isOverlay(0x1fff) && !bus.isOverlay(0x2000));
  assert.deepEqual(bus.overlayPages(), [0x1000]);
  assert.deepEqual([...bus.read(0x1000, 5)], [0x0f, 0x01, 0xc1, 0xc3, 0]);
  assert.deepEqual([...bus.readLayer(0x1000, 5, 'visible')], [0x0f, 0x01, 0xc1, 0xc3, 0]);
  assert.deepEqual([...bus.readLayer(0x0ffe, 4, 'underlying')], [0, 0, 0xaa, 0xaa]);
  assert.equal(bus.readByte(0x1001), 0x01);
  // Writes through a read-only overlay are refused (writeByte) and never reach the RAM beneath.
  assert.equal(bus.writeByte(0x1001, 0x55), false);
  assert.equal(ram[0x1001], 0xaa);
  assert.equal(bus.removeOverlay(0x1000), true);
  assert.equal(bus.removeOverlay(0x1000), false);
  assert.deepEqual([...bus.read(0x1000, 4)], [0xaa, 0xaa, 0xaa, 0xaa]);
});

test('bus overlay over a hole: the page appears, reads of the underlying layer report the hole', () => {
  const bus = new PhysBus();
  bus.setRegion(0, 0, new Uint8Array(0x1000), false);
  bus.setOverlay(0x8000, Uint8Array.of(1, 2, 3));
  assert.ok(bus.isRam(0x8000));
  const holes: number[] = [];
  bus.readLayer(0x8000, 2, 'underlying', holes);
  assert.deepEqual(holes, [0x8000, 0x8001]);
  assert.deepEqual([...bus.readLayer(0x8000, 3, 'visible')], [1, 2, 3]);
});

// The processor must not run stale decoded code or use a stale TLB entry when an overlay comes or goes.
const guest = `
bits 64
org 0x100000
start:
    call 0x200000          ; the page under test: RAM says 'R', the overlay says 'O'
    out 0xe9, al
    jmp start
`;

test('processor: decoded code and TLBs follow an overlay appearing and disappearing', () => {
  const t = longModeGuest('intel', guest);
  t.mem.set([0xb0, 0x52, 0xc3], 0x200000);              // mov al, 'R'; ret
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(String.fromCharCode(ioByte(t.vcpu)), 'R');
  t.vm.bus.setOverlay(0x200000, Uint8Array.of(0xb0, 0x4f, 0xc3)); // mov al, 'O'; ret
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(String.fromCharCode(ioByte(t.vcpu)), 'O');
  assert.equal(t.mem[0x200001], 0x52, 'the RAM beneath is untouched');
  t.vm.bus.removeOverlay(0x200000);
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(String.fromCharCode(ioByte(t.vcpu)), 'R');
});

test('processor: data reads through a cached TLB entry see the overlay', () => {
  const t = longModeGuest('intel', `
bits 64
org 0x100000
start:
    mov al, [0x300000]
    out 0xe9, al
    jmp start
`);
  t.mem[0x300000] = 0x11;
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(ioByte(t.vcpu), 0x11);
  t.vm.bus.setOverlay(0x300000, Uint8Array.of(0x22));
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(ioByte(t.vcpu), 0x22);
  t.vm.bus.removeOverlay(0x300000);
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(ioByte(t.vcpu), 0x11);
});
