// The VMM's half of the SynIC (vmm/hyperv-synic.ts, after QEMU's hw/hyperv/hyperv.c and
// hw/misc/hyperv_testdev.c): message connections with the staged message, the busy slot and the
// retry on the guest's EOM (KVM notifies the HV_SINT route's GSI), event connections through
// KVM_HYPERV_EVENTFD, and the status codes of hyperv_hcall_post_message / signal_event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine } from '../../vm-core/vmm';
import { exitRecord } from '../../vm-core/vmm/exit-record';
import * as U from '../../vm-core/kvm/uapi';
import * as T from '../../vm-core/kvm/hyperv_tlfs';
import { HV_TEST_DEV_PORT, HV_TEST_DEV_MSG_CONN_CREATE, HV_TEST_DEV_EVT_CONN_CREATE, HV_TEST_DEV_MSG_CONN_DESTROY } from '../../vm-core/vmm/hyperv-synic';

const SIMP = 0x300000, SIEFP = 0x301000, INPUT = 0x304000;

function setup() {
  const m = new Machine(null, { hyperv: true, memSize: 8 << 20 });
  const v = m.vcpus[0], s = m.hypervSynic!;
  assert.ok(s, 'hyperv with the irqchip: the VMM runs the SynIC connections');
  v.lapic!.kvm_lapic_reg_write(0xf0, 0x1ff);
  assert.equal(v.setMsrs([{ index: T.HV_X64_MSR_SINT0 + 3, data: 0x51n }, { index: T.HV_X64_MSR_SINT0 + 4, data: 0x52n }]), 2);
  // What KVM_EXIT_HYPERV_SYNIC tells userspace after the guest's SCONTROL/SIMP/SIEFP writes.
  const e = v.kvm_run.hyperv.u.synic;
  e.msr = T.HV_X64_MSR_SIMP; e.control = 1n; e.msg_page = BigInt(SIMP + 1); e.evt_page = BigInt(SIEFP + 1);
  s.handleSynicExit(v);
  const out = (ctl: number, sint: number, conn: number) => m.platform.bus.write(HV_TEST_DEV_PORT, 4, ((conn << 24) | (ctl << 16) | sint) >>> 0);
  return { m, v, s, out, dv: new DataView(m.mem.buffer) };
}

function input(m: Machine, conn: number, payload: bigint, size = 8) {
  const dv = new DataView(m.mem.buffer);
  dv.setUint32(INPUT, conn, true); dv.setUint32(INPUT + 8, 0x1234, true); dv.setUint32(INPUT + 12, size, true);
  dv.setBigUint64(INPUT + 16, payload, true);
}

test('HvPostMessage: delivered into the SIMP slot; a busy slot sets msg_pending and the message follows the EOM', () => {
  const { m, v, s, out, dv } = setup();
  out(HV_TEST_DEV_MSG_CONN_CREATE, 3, 0x10);
  input(m, 0x10, 111n);
  assert.equal(s.hcall(T.HVCALL_POST_MESSAGE, false, BigInt(INPUT)), T.HV_STATUS_SUCCESS);
  const slot = SIMP + 3 * 256;
  assert.equal(dv.getUint32(slot, true), 0x1234);
  assert.equal(m.mem[slot + 4], 8);
  assert.equal(dv.getBigUint64(slot + 16, true), 111n);
  assert.ok(v.lapic!.testVector(0x200, 0x51), 'SINT3 raised');
  input(m, 0x10, 222n);
  assert.equal(s.hcall(T.HVCALL_POST_MESSAGE, false, BigInt(INPUT)), T.HV_STATUS_SUCCESS, 'staged');
  assert.equal(m.mem[slot + 5] & 1, 1, 'msg_pending');
  assert.equal(dv.getBigUint64(slot + 16, true), 111n, 'the old message stays');
  assert.equal(s.hcall(T.HVCALL_POST_MESSAGE, false, BigInt(INPUT)), T.HV_STATUS_INSUFFICIENT_BUFFERS, 'the staging buffer is taken');
  // The guest consumes the message and writes EOM: KVM acks SINT3's route, the VMM posts again.
  dv.setUint32(slot, 0, true);
  assert.equal(v.setMsrs([{ index: T.HV_X64_MSR_EOM, data: 0n }]), 1);
  assert.equal(dv.getUint32(slot, true), 0x1234);
  assert.equal(dv.getBigUint64(slot + 16, true), 222n);
  assert.equal(m.mem[slot + 5] & 1, 0, 'the new message has msg_pending clear');
  assert.equal(s.posted, 2);
  out(HV_TEST_DEV_MSG_CONN_DESTROY, 0, 0x10);
  assert.equal(s.hcall(T.HVCALL_POST_MESSAGE, false, BigInt(INPUT)), T.HV_STATUS_INVALID_CONNECTION_ID);
});

test('hyperv_hcall_post_message status codes', () => {
  const { m, s, out } = setup();
  out(HV_TEST_DEV_MSG_CONN_CREATE, 3, 0x10);
  input(m, 0x10, 1n);
  assert.equal(s.hcall(T.HVCALL_POST_MESSAGE, true, BigInt(INPUT)), T.HV_STATUS_INVALID_HYPERCALL_CODE, 'no fast form');
  assert.equal(s.hcall(T.HVCALL_POST_MESSAGE, false, BigInt(INPUT + 4)), T.HV_STATUS_INVALID_ALIGNMENT);
  assert.equal(s.hcall(T.HVCALL_POST_MESSAGE, false, 0x7fff_0000n), T.HV_STATUS_INSUFFICIENT_MEMORY, 'input not in RAM');
  input(m, 0x10, 1n, 241);
  assert.equal(s.hcall(T.HVCALL_POST_MESSAGE, false, BigInt(INPUT)), T.HV_STATUS_INVALID_HYPERCALL_INPUT, 'payload over 240 bytes');
  assert.equal(s.hcall(T.HVCALL_SIGNAL_EVENT, true, 0x1234n), T.HV_STATUS_INVALID_CONNECTION_ID, 'unknown connection');
  assert.equal(s.hcall(T.HVCALL_SIGNAL_EVENT, true, 0x1_0000_0000n), T.HV_STATUS_INVALID_PORT_ID, 'flag number');
  assert.equal(s.hcall(0x99, true, 0n), T.HV_STATUS_INVALID_HYPERCALL_CODE);
});

test('event connection: KVM_HYPERV_EVENTFD sets the flag in the SIEFP slot and raises the SINT once per 0 -> 1', () => {
  const { m, v, out } = setup();
  out(HV_TEST_DEV_EVT_CONN_CREATE, 4, 0x20);
  const fd = m.vm.hyperv.conn_to_evt.get(0x20);
  assert.ok(fd, 'the connection is registered with KVM');
  fd!();
  assert.equal(m.mem[SIEFP + 4 * 256 + (0x20 >> 3)], 1 << (0x20 & 7));
  assert.ok(v.lapic!.testVector(0x200, 0x52));
  v.lapic!.regs[(0x200 >> 2) + 4 * (0x52 >> 5)] = 0;
  fd!();
  assert.ok(!v.lapic!.testVector(0x200, 0x52), 'already set: no new interrupt');
  assert.equal(v.enableCap({ cap: U.KVM_CAP_HYPERV_SYNIC2, args: [1] }), -U.EINVAL);
});

test('the exit record of KVM_EXIT_HYPERV_SYNIC carries its union member (msr, control, evt_page, msg_page)', () => {
  const { v } = setup();
  const run = v.kvm_run;
  run.exit_reason = U.KVM_EXIT_HYPERV;
  run.hyperv.type = U.KVM_EXIT_HYPERV_SYNIC;
  const r = exitRecord(run, 0, 0) as Record<string, unknown>;
  assert.equal(r.type, U.KVM_EXIT_HYPERV_SYNIC);
  assert.equal(r.msr, T.HV_X64_MSR_SIMP);
  assert.equal(r.msg_page, `0x${(SIMP + 1).toString(16)}`);
  assert.equal(r.control, '0x1');
});
