// Port I/O (x86.c kvm_fast_pio, emulator_pio_in_out, kernel_pio, complete_fast_pio_in/out): an
// access an in-kernel device claims on KVM_PIO_BUS (the PIC, ELCR, PIT, speaker port: vm.kvm_io_bus_*)
// completes in the kernel; every other one exits to userspace with KVM_EXIT_IO, the data in the run
// page at io.data_offset, and the instruction completes on the next KVM_RUN.
import type { KvmVcpu } from '../vcpu';
import { KVM_EXIT_IO, KVM_EXIT_IO_IN, KVM_EXIT_IO_OUT, KVM_PIO_DATA_OFFSET, KVM_X86_QUIRK_OUT_7E_INC_RIP } from '../uapi';
import { kvm_get_linear_rip, kvm_skip_emulated_instruction } from './x86';

/** emulator_pio_in_out: fill vcpu->arch.pio and the KVM_EXIT_IO fields. */
export function emulator_pio_in_out(v: KvmVcpu, size: number, port: number, count: number, isIn: boolean): void {
  const a = v.arch, io = v.kvm_run.io;
  a.pio_port = port; a.pio_in = isIn; a.pio_count = count; a.pio_size = size;
  v.kvm_run.exit_reason = KVM_EXIT_IO;
  io.direction = isIn ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
  io.size = size;
  io.data_offset = KVM_PIO_DATA_OFFSET;
  io.count = count;
  io.port = port;
}

/** Little-endian store of `size` bytes of `val` into the PIO page. */
export function pioDataWrite(v: KvmVcpu, index: number, size: number, val: number): void {
  const d = v.kvm_run.data, o = KVM_PIO_DATA_OFFSET + index * size;
  for (let k = 0; k < size; k++) d[o + k] = (val >>> (8 * k)) & 0xff;
}
export function pioDataRead(v: KvmVcpu, index: number, size: number): number {
  const d = v.kvm_run.data, o = KVM_PIO_DATA_OFFSET + index * size;
  let x = 0;
  for (let k = 0; k < size; k++) x |= d[o + k] << (8 * k);
  return size === 4 ? x >>> 0 : x;
}

function complete_fast_pio_out_port_0x7e(v: KvmVcpu): number {
  v.arch.pio_count = 0;
  return 1;
}
function complete_fast_pio_out(v: KvmVcpu): number {
  v.arch.pio_count = 0;
  if (kvm_get_linear_rip(v) !== v.arch.cui_linear_rip) return 1;
  return kvm_skip_emulated_instruction(v);
}

/** kvm_fast_pio_out: data from RAX; RIP stays at the OUT until completion (except OUT 0x7E with the quirk). */
function kvm_fast_pio_out(v: KvmVcpu, size: number, port: number): number {
  const val = v.arch.regs[0];
  if (v.vm.kvm_io_bus_write(port, size, size === 4 ? val >>> 0 : val & ((1 << (8 * size)) - 1))) return kvm_skip_emulated_instruction(v); // kernel_pio
  emulator_pio_in_out(v, size, port, 1, false);
  pioDataWrite(v, 0, size, val);
  if (port === 0x7e && v.vm.hasQuirk(KVM_X86_QUIRK_OUT_7E_INC_RIP)) {
    v.arch.complete_userspace_io = complete_fast_pio_out_port_0x7e;
    kvm_skip_emulated_instruction(v);
  } else {
    v.arch.cui_linear_rip = kvm_get_linear_rip(v);
    v.arch.complete_userspace_io = complete_fast_pio_out;
  }
  return 0;
}

/** complete_fast_pio_in: merge (size < 4) or zero-extend (size 4) the data into RAX, then skip. */
function complete_fast_pio_in(v: KvmVcpu): number {
  const a = v.arch;
  if (kvm_get_linear_rip(v) !== a.cui_linear_rip) { a.pio_count = 0; return 1; }
  const size = a.pio_size;
  const data = pioDataRead(v, 0, size);
  const rax = a.regs[0];
  if (size === 4) { a.regs[0] = data | 0; a.regs[1] = 0; }
  else if (size === 2) a.regs[0] = (rax & ~0xffff) | data;
  else a.regs[0] = (rax & ~0xff) | data;
  a.pio_count = 0;
  return kvm_skip_emulated_instruction(v);
}

function kvm_fast_pio_in(v: KvmVcpu, size: number, port: number): number {
  const k = v.vm.kvm_io_bus_read(port, size); // kernel_pio: merge (size < 4) or zero-extend into RAX
  if (k !== null) {
    const a = v.arch;
    if (size === 4) { a.regs[0] = k | 0; a.regs[1] = 0; } else if (size === 2) a.regs[0] = (a.regs[0] & ~0xffff) | (k & 0xffff); else a.regs[0] = (a.regs[0] & ~0xff) | (k & 0xff);
    return kvm_skip_emulated_instruction(v);
  }
  emulator_pio_in_out(v, size, port, 1, true);
  v.arch.cui_linear_rip = kvm_get_linear_rip(v);
  v.arch.complete_userspace_io = complete_fast_pio_in;
  return 0;
}

/** kvm_fast_pio. */
export function kvm_fast_pio(v: KvmVcpu, size: number, port: number, isIn: boolean): number {
  return isIn ? kvm_fast_pio_in(v, size, port) : kvm_fast_pio_out(v, size, port);
}
