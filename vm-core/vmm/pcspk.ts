// Port 0x61 (system control port B) as QEMU's pcspk presents it next to KVM's in-kernel PIT created
// without KVM_PIT_SPEAKER_DUMMY: bit 0 is channel 2's gate, bit 1 the speaker data enable, bit 4 a
// refresh bit that toggles on every read (QEMU's dummy_refresh_clock), bit 5 channel 2's OUT. The
// PIT state comes from KVM_GET_PIT2 and a gate change goes back with KVM_SET_PIT2 (kvm_pit_set_gate),
// which reloads every channel's count as KVM_SET_PIT2 does.
import type { PortDevice } from './port-bus';
import type { KvmVm } from '../kvm/vm';
import { pit_channel_out, pit_ns_to_ticks } from '../kvm/i8254';

export const PCSPK_PORT = 0x61;

export class PcSpeaker implements PortDevice {
  data_on = 0;
  private dummy_refresh_clock = 0;
  constructor(private readonly vm: KvmVm) {}

  portRead(): number {
    const g = this.vm.getPit2();
    this.dummy_refresh_clock ^= 1 << 4;
    if (!g.state) return (this.data_on << 1) | this.dummy_refresh_clock;
    const c = g.state.channels[2];
    const out = pit_channel_out(c.mode, c.count, pit_ns_to_ticks(this.vm.clock.nowNs() - c.count_load_time));
    return (c.gate & 1) | (this.data_on << 1) | this.dummy_refresh_clock | (out << 5);
  }

  portWrite(_port: number, _size: number, val: number): void {
    this.data_on = (val >> 1) & 1;
    const g = this.vm.getPit2();
    if (!g.state) return;
    const c = g.state.channels[2], gate = val & 1;
    // kvm_pit_set_gate: modes 1, 2, 3 and 5 restart counting on a rising edge.
    if ((c.mode === 1 || c.mode === 2 || c.mode === 3 || c.mode === 5) && c.gate < gate) c.count_load_time = this.vm.clock.nowNs();
    c.gate = gate;
    this.vm.setPit2(g.state);
  }
}
