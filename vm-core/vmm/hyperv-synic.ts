// Userspace's half of the Hyper-V SynIC, as QEMU does it (hw/hyperv/hyperv.c) over KVM's in-kernel
// SynIC: the per-vCPU view of SCONTROL/SIMP/SIEFP that KVM_EXIT_HYPERV_SYNIC reports, SINT routes
// (KVM_IRQ_ROUTING_HV_SINT GSIs; raising one is kvm_hv_synic_set_irq, the irqfd's effect), message
// connections (HvPostMessage reaches userspace as KVM_EXIT_HYPERV_HCALL: the message is staged and
// copied into the target's SIMP slot, or waits for the guest's EOM when the slot is busy) and event
// connections (KVM_HYPERV_EVENTFD: KVM signals them for HvSignalEvent; the handler sets the event
// flag in the target's SIEFP slot and raises the SINT once per 0 -> 1 transition).
// The hyperv-testdev device (hw/misc/hyperv_testdev.c, port 0x3000) lets kvm-unit-tests create them.
// Everything runs synchronously at the exit that causes it (QEMU's bottom halves and the target
// vCPU's run_on_cpu work), so it is deterministic.
import type { KvmVm } from '../kvm/vm';
import type { KvmVcpu } from '../kvm/vcpu';
import type { PortDevice } from './port-bus';
import * as U from '../kvm/uapi';
import * as T from '../kvm/hyperv_tlfs';
import { kvm_hv_synic_set_irq, kvm_hv_set_sint_gsi, kvm_vm_ioctl_hv_eventfd, KVM_HYPERV_EVENTFD_DEASSIGN } from '../kvm/hyperv';

export const HV_TEST_DEV_PORT = 0x3000;
/** hyperv_testdev's commands (bits 23:16 of the 32-bit OUT; bits 7:0 SINT, 15:8 VP index, 31:24 connection id). */
export const HV_TEST_DEV_SINT_ROUTE_CREATE = 1, HV_TEST_DEV_SINT_ROUTE_DESTROY = 2, HV_TEST_DEV_SINT_ROUTE_SET_SINT = 3,
  HV_TEST_DEV_MSG_CONN_CREATE = 4, HV_TEST_DEV_MSG_CONN_DESTROY = 5, HV_TEST_DEV_EVT_CONN_CREATE = 6,
  HV_TEST_DEV_EVT_CONN_DESTROY = 7;
const HV_CONNECTION_ID_MASK = 0x00ffffff;
/** GSIs of HV_SINT routes start after the IOAPIC's 24 pins. */
const FIRST_SINT_GSI = 24;

const EAGAIN = -U.EAGAIN, ENXIO = -U.ENXIO;

/** The synic state QEMU keeps per vCPU (SynICState): from KVM_EXIT_HYPERV_SYNIC. */
interface SynicView { sctl: boolean; msgPage: number; evtPage: number; }

/** HvSintStagedMessage. */
interface StagedMsg {
  readonly msg: Uint8Array;
  state: 'free' | 'busy' | 'posted';
  status: number;
  cb: (status: number) => void;
}

/** HvSintRoute. */
interface SintRoute { vpidx: number; sint: number; gsi: number; refs: number; staged: StagedMsg | null; }

/** TestMsgConn / TestEvtConn. */
interface MsgConn { route: SintRoute; readonly msg: Uint8Array; }
interface EvtConn { route: SintRoute; }

export class HypervSynicVmm implements PortDevice {
  readonly synics = new Map<number, SynicView>();
  readonly routes: SintRoute[] = [];
  private readonly msgHandlers = new Map<number, MsgConn>();
  private readonly evtConns = new Map<number, EvtConn>();
  private readonly testSintRoutes: SintRoute[] = [];
  private nextGsi = FIRST_SINT_GSI;
  /** Messages posted to SIMP slots and event flags set (statistics). */
  posted = 0; eventsSet = 0;

  constructor(private readonly vm: KvmVm) {
    vm.hyperv.onSintAck = (gsi) => this.sint_ack_handler(gsi);
  }

  private synic(vpidx: number): SynicView {
    let s = this.synics.get(vpidx);
    if (!s) { s = { sctl: false, msgPage: 0, evtPage: 0 }; this.synics.set(vpidx, s); }
    return s;
  }

  /** kvm_hv_handle_exit, KVM_EXIT_HYPERV_SYNIC: hyperv_synic_update. */
  handleSynicExit(v: KvmVcpu): void {
    const e = v.kvm_run.hyperv.u.synic, s = this.synic(v.arch.hyperv ? v.arch.hyperv.vp_index : v.vcpu_id);
    const control = Number(e.control), msg = Number(e.msg_page), evt = Number(e.evt_page);
    s.sctl = (control & T.HV_SYNIC_CONTROL_ENABLE) !== 0;
    s.msgPage = msg % 2 ? msg - (msg % 4096) : 0;
    s.evtPage = evt % 2 ? evt - (evt % 4096) : 0;
  }

  /** kvm_hv_handle_exit, KVM_EXIT_HYPERV_HCALL: the result for the calls userspace implements. */
  hcall(code: number, fast: boolean, param: bigint): number {
    if (code === T.HVCALL_POST_MESSAGE) return this.hyperv_hcall_post_message(param, fast);
    if (code === T.HVCALL_SIGNAL_EVENT) return this.hyperv_hcall_signal_event(param, fast);
    return T.HV_STATUS_INVALID_HYPERCALL_CODE;
  }

  // ---------------------------------------------------------------- SINT routes

  /** hyperv_sint_route_new: a GSI routed to (vpidx, sint); with `cb` a staged message and an ack notifier. */
  private hyperv_sint_route_new(vpidx: number, sint: number, cb: ((status: number) => void) | null): SintRoute | null {
    if (sint >= T.HV_SYNIC_SINT_COUNT) return null;
    const r: SintRoute = { vpidx, sint, gsi: this.nextGsi++, refs: 1, staged: null };
    if (cb) {
      r.staged = { msg: new Uint8Array(T.HV_MESSAGE_SIZE), state: 'free', status: 0, cb };
      // The irqfd's resamplefd: KVM notifies the GSI when the guest acks the SINT (EOM / EOI).
      if (kvm_hv_set_sint_gsi(this.vm, vpidx, sint, r.gsi) < 0) return null;
    }
    this.routes.push(r);
    return r;
  }

  private hyperv_sint_route_unref(r: SintRoute): void {
    if (--r.refs > 0) return;
    const k = this.routes.indexOf(r);
    if (k >= 0) this.routes.splice(k, 1);
    if (r.staged) kvm_hv_set_sint_gsi(this.vm, r.vpidx, r.sint, -1);
  }

  /** hyperv_sint_route_set_sint: the irqfd fires (kvm_hv_set_sint). */
  private hyperv_sint_route_set_sint(r: SintRoute): number {
    return kvm_hv_synic_set_irq(this.vm, r.vpidx, r.sint);
  }

  /** sint_ack_handler + sint_msg_bh: the guest consumed a message; complete the staged one with its status. */
  private sint_ack_handler(gsi: number): void {
    const r = this.routes.find((x) => x.gsi === gsi);
    const m = r?.staged;
    if (!m || m.state !== 'posted') return; // spurious ack
    const status = m.status;
    m.status = 0;
    m.state = 'free';
    m.cb(status);
  }

  // ---------------------------------------------------------------- messages

  /** hyperv_post_msg + cpu_post_msg: stage the message and copy it into the target's SIMP slot. */
  private hyperv_post_msg(r: SintRoute, msg: Uint8Array): number {
    const m = r.staged;
    if (!m) return -U.EINVAL;
    const s = this.synic(r.vpidx);
    if (!s.sctl) return ENXIO;
    if (m.state !== 'free') return EAGAIN;
    m.msg.set(msg);
    m.state = 'busy';
    let wait = false;
    if (!s.msgPage) m.status = ENXIO;
    else {
      const slot = s.msgPage + r.sint * T.HV_MESSAGE_SIZE;
      const cur = this.vm.bus.read(slot, 8);
      if ((cur[0] | cur[1] | cur[2] | cur[3]) !== 0) {
        // Busy slot: msg_pending, and the guest's EOM makes KVM notify the route's GSI.
        this.vm.bus.write(slot + 5, new Uint8Array([cur[5] | T.HV_MESSAGE_FLAG_PENDING]), false);
        m.status = EAGAIN;
        wait = true;
      } else {
        this.vm.bus.write(slot, m.msg, false);
        this.posted++;
        const ret = this.hyperv_sint_route_set_sint(r);
        m.status = ret > 0 ? 0 : ret;
      }
    }
    m.state = 'posted';
    if (!wait) { const st = m.status; m.status = 0; m.state = 'free'; m.cb(st); }
    return 0;
  }

  /** hyperv_hcall_post_message: struct hv_input_post_message at `param` to the connection's handler. */
  private hyperv_hcall_post_message(param: bigint, fast: boolean): number {
    if (fast) return T.HV_STATUS_INVALID_HYPERCALL_CODE;
    if (param & 7n) return T.HV_STATUS_INVALID_ALIGNMENT;
    const gpa = Number(param);
    const holes: number[] = [];
    const input = this.vm.bus.read(gpa, T.HV_POST_MESSAGE_INPUT_SIZE, holes);
    if (holes.length) return T.HV_STATUS_INSUFFICIENT_MEMORY;
    const dv = new DataView(input.buffer, input.byteOffset);
    const conn_id = dv.getUint32(0, true), message_type = dv.getUint32(8, true), payload_size = dv.getUint32(12, true);
    if (payload_size > T.HV_MESSAGE_PAYLOAD_BYTE_COUNT) return T.HV_STATUS_INVALID_HYPERCALL_INPUT;
    const conn = this.msgHandlers.get(conn_id & HV_CONNECTION_ID_MASK);
    if (!conn) return T.HV_STATUS_INVALID_CONNECTION_ID;
    // hyperv_testdev's msg_handler: post the same message back through the connection's SINT route.
    const out = conn.msg, odv = new DataView(out.buffer);
    out.fill(0);
    odv.setUint32(0, message_type, true);
    out[4] = payload_size;
    out.set(input.subarray(16, 16 + payload_size), T.HV_MESSAGE_HEADER_SIZE);
    const ret = this.hyperv_post_msg(conn.route, out);
    if (ret === 0) return T.HV_STATUS_SUCCESS;
    if (ret === EAGAIN) return T.HV_STATUS_INSUFFICIENT_BUFFERS;
    return T.HV_STATUS_INVALID_HYPERCALL_INPUT;
  }

  // ---------------------------------------------------------------- events

  /** hyperv_set_event_flag: set flag `eventno` in the route's SIEFP slot; raise the SINT if it was clear. */
  private hyperv_set_event_flag(r: SintRoute, eventno: number): number {
    if (eventno >= T.HV_EVENT_FLAGS_COUNT) return -U.EINVAL;
    const s = this.synic(r.vpidx);
    if (!s.sctl || !s.evtPage) return ENXIO;
    const byte = s.evtPage + r.sint * T.HV_EVENT_FLAGS_SLOT_SIZE + (eventno >> 3), mask = 1 << (eventno & 7);
    const cur = this.vm.bus.read(byte, 1)[0];
    if (cur & mask) return 0;
    this.vm.bus.write(byte, new Uint8Array([cur | mask]), false);
    this.eventsSet++;
    return this.hyperv_sint_route_set_sint(r);
  }

  /** hyperv_hcall_signal_event: only connections KVM does not know reach userspace; none are registered here. */
  private hyperv_hcall_signal_event(param: bigint, fast: boolean): number {
    let p = param;
    if (!fast) {
      if (p & 7n || (p & 0xfffn) + 8n > 0x1000n) return T.HV_STATUS_INVALID_ALIGNMENT;
      const holes: number[] = [];
      const b = this.vm.bus.read(Number(p), 8, holes);
      if (holes.length) return T.HV_STATUS_INVALID_ALIGNMENT;
      p = new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
    }
    if (p & 0xffff00000000n) return T.HV_STATUS_INVALID_PORT_ID;
    if (p & ~BigInt(HV_CONNECTION_ID_MASK)) return T.HV_STATUS_INVALID_HYPERCALL_INPUT;
    return T.HV_STATUS_INVALID_CONNECTION_ID;
  }

  // ---------------------------------------------------------------- hyperv-testdev (port 0x3000)

  portRead(): number { return 0; }

  portWrite(_port: number, size: number, val: number): void {
    if (size !== 4) return;
    const sint = val & 0xff, vpidx = (val >>> 8) & 0xff, ctl = (val >>> 16) & 0xff, conn_id = (val >>> 24) & 0xff;
    switch (ctl) {
      case HV_TEST_DEV_SINT_ROUTE_CREATE: {
        const r = this.hyperv_sint_route_new(vpidx, sint, null);
        if (r) this.testSintRoutes.push(r);
        break;
      }
      case HV_TEST_DEV_SINT_ROUTE_DESTROY: {
        const k = this.testSintRoutes.findIndex((r) => r.vpidx === vpidx && r.sint === sint);
        if (k >= 0) { this.hyperv_sint_route_unref(this.testSintRoutes[k]); this.testSintRoutes.splice(k, 1); }
        break;
      }
      case HV_TEST_DEV_SINT_ROUTE_SET_SINT: {
        const r = this.testSintRoutes.find((x) => x.vpidx === vpidx && x.sint === sint);
        if (r) this.hyperv_sint_route_set_sint(r);
        break;
      }
      case HV_TEST_DEV_MSG_CONN_CREATE: {
        if (this.msgHandlers.has(conn_id)) break;
        const conn: MsgConn = { route: null as unknown as SintRoute, msg: new Uint8Array(T.HV_MESSAGE_SIZE) };
        // msg_cb: a message that found its slot busy is posted again once the guest has acked the SINT.
        const r = this.hyperv_sint_route_new(vpidx, sint, (status) => { if (status === EAGAIN) this.hyperv_post_msg(conn.route, conn.msg); });
        if (!r) break;
        conn.route = r;
        this.msgHandlers.set(conn_id, conn);
        break;
      }
      case HV_TEST_DEV_MSG_CONN_DESTROY: {
        const conn = this.msgHandlers.get(conn_id);
        if (conn) { this.msgHandlers.delete(conn_id); this.hyperv_sint_route_unref(conn.route); }
        break;
      }
      case HV_TEST_DEV_EVT_CONN_CREATE: {
        if (this.evtConns.has(conn_id)) break;
        const r = this.hyperv_sint_route_new(vpidx, sint, null);
        if (!r) break;
        const conn: EvtConn = { route: r };
        // KVM_HYPERV_EVENTFD: KVM signals the connection's "eventfd" for HvSignalEvent; the handler sets the flag.
        if (kvm_vm_ioctl_hv_eventfd(this.vm, { conn_id, flags: 0, fd: () => { this.hyperv_set_event_flag(conn.route, conn_id); } }) < 0) {
          this.hyperv_sint_route_unref(r);
          break;
        }
        this.evtConns.set(conn_id, conn);
        break;
      }
      case HV_TEST_DEV_EVT_CONN_DESTROY: {
        const conn = this.evtConns.get(conn_id);
        if (conn) {
          kvm_vm_ioctl_hv_eventfd(this.vm, { conn_id, flags: KVM_HYPERV_EVENTFD_DEASSIGN });
          this.evtConns.delete(conn_id);
          this.hyperv_sint_route_unref(conn.route);
        }
        break;
      }
    }
  }
}
