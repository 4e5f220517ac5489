// The default VMM's side of the in-kernel interrupt controllers and timer, as QEMU's pc machine
// does it: its GSI routing (IRQ0 to PIC pin 0 and IOAPIC pin 2, GSI 2 unrouted), KVM_CREATE_PIT2
// without the speaker port, port 0x61 (pcspk) through KVM_GET/SET_PIT2, the firmware's 8259 set-up
// for multiboot kernels, and the power-on states restored by a RESET of the VM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assemble } from '../../vm-core/loader/assemble';
import { loadImage } from '../../vm-core/loader/load-image';
import { Machine } from '../../vm-core/vmm/machine';
import { pcIrqRouting } from '../../vm-core/vmm/irq-routing';
import * as U from '../../vm-core/kvm/uapi';

function machine(src: string) {
  const r = assemble({ path: '/t.asm', source: src });
  if (!r.ok) throw new Error('asm');
  return new Machine(r.image, { entry: 'real', memSize: 4 << 20, maxInsns: 100_000 });
}

test('QEMU\'s routing: ISA IRQ0 reaches PIC pin 0 and IOAPIC pin 2; GSI 2 goes nowhere; the PIT exists without the speaker port', () => {
  const m = machine('bits 16\norg 0x7c00\nhlt\n');
  const e = pcIrqRouting();
  assert.deepEqual(e.filter((x) => x.gsi === 0).map((x) => x.u.irqchip), [{ irqchip: U.KVM_IRQCHIP_PIC_MASTER, pin: 0 }, { irqchip: U.KVM_IRQCHIP_IOAPIC, pin: 2 }]);
  assert.equal(e.filter((x) => x.gsi === 2).length, 0);
  assert.deepEqual(e.filter((x) => x.gsi === 9).map((x) => x.u.irqchip), [{ irqchip: U.KVM_IRQCHIP_PIC_SLAVE, pin: 1 }, { irqchip: U.KVM_IRQCHIP_IOAPIC, pin: 9 }]);
  assert.deepEqual(m.vm.irqRouting.entries().filter((x) => x.gsi === 0).map((x) => x.u.irqchip!.pin).sort(), [0, 2]);
  assert.equal(m.vm.irqLine({ irq: 2, level: 1 }).status, -1);
  assert.equal(m.vm.irqLine({ irq: 0, level: 1 }).status, 1, 'the PIC took it (IOAPIC pin 2 masked)');
  assert.equal(m.vm.pit !== null && !m.vm.pit.speakerDummy, true);
  assert.equal(m.vm.kvm_io_bus_read(0x61, 1), null, 'port 0x61 is the VMM\'s');
});

test('port 0x61 (pcspk): gate 2 and speaker data written through KVM_SET_PIT2; OUT2 and a toggling refresh bit read back', () => {
  const m = machine(`bits 16
org 0x7c00
    mov al, 0xb0            ; channel 2, LSB/MSB, mode 0
    out 0x43, al
    mov al, 2
    out 0x42, al
    xor al, al
    out 0x42, al
    mov al, 3               ; gate 2 on, speaker data on
    out 0x61, al
    in al, 0x61
    mov [0x600], al
    mov cx, 10000           ; 5 us of virtual time: 6 PIT clocks
wait: loop wait
    in al, 0x61
    mov [0x601], al
    mov al, 0
    out 0xf4, al
`);
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 0 });
  const [a, b] = [m.mem[0x600], m.mem[0x601]];
  assert.equal(a & 0x23, 0x03, 'gate and data on, OUT2 low while counting');
  assert.equal(b & 0x23, 0x23, 'OUT2 high after 2 PIT clocks');
  assert.notEqual(a & 0x10, b & 0x10, 'refresh toggles on every read');
  assert.equal(m.vm.getPit2().state!.channels[2].gate, 1);
});

test('multiboot kernels find the 8259s initialized and masked (vectors 0x08 / 0x70); a RESET of the VM restores the power-on state first', () => {
  const img = loadImage(join(__dirname, 'guests', 'multiboot-aout.asm'));
  assert.ok(img.ok);
  const m = new Machine(img.image, { memSize: 16 << 20, maxInsns: 10_000 });
  const pic = (c: number) => m.vm.getIrqchip(c).pic!;
  assert.deepEqual([pic(0).irq_base, pic(0).imr, pic(1).irq_base, pic(1).imr, pic(0).init_state], [0x08, 0xfb, 0x70, 0xff, 0]);
  m.vm.setIrqchip(0, { ...pic(0), imr: 0, irq_base: 0x40 });
  m.vm.setPit2({ ...m.vm.getPit2().state!, flags: 2 });
  m.resetVm();
  assert.deepEqual([pic(0).irq_base, pic(0).imr], [0x08, 0xfb]);
  assert.equal(m.vm.getPit2().state!.flags, 0);
});
