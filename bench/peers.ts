// Reference emulators for the CPU benchmark: `qemu-system-x86_64 -accel tcg` and Bochs (Debian
// packages qemu-system-x86, bochs, bochsbios, vgabios). Each run boots the workload's floppy image
// and is timed from process start to exit (CPU time); the loop's time is the difference with a run
// of zero iterations, so BIOS and emulator start-up are excluded.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Peer {
  name: string;
  /** Why it cannot run here, or undefined when it can. */
  missing(): string | undefined;
  /** Boot the floppy image at `img`; resolves with the CPU time in seconds, or rejects. */
  run(img: string, dir: string, timeoutSec: number): Promise<number>;
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Spawn under bash and report the CPU time (user + system) of the process and its threads from
 * bash's `times`, so a loaded machine skews the figures far less than wall time; wall time too.
 */
function timed(cmd: string, args: string[], timeoutSec: number):
  Promise<{ secs: number; wall: number; code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // stdin is /dev/null: Node's stdio pipes are socket pairs, and Bochs dies of SIGPIPE writing to a closed one.
    const p = spawn('bash', ['-c', '"$@"; rc=$?; echo "@@times"; times; exit $rc', 'bash', cmd, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; if (out.length > 1 << 20) out = out.slice(-65536); });
    p.stderr.on('data', (d) => { err += d; if (err.length > 1 << 20) err = err.slice(-65536); });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${cmd} did not finish in ${timeoutSec} s`)); }, timeoutSec * 1000);
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('exit', (code) => {
      clearTimeout(timer);
      const wall = (performance.now() - t0) / 1000;
      // `times` prints the shell's user/system times, then its children's: "0m1.234s 0m0.056s".
      const m = /@@times\n.*\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(out);
      const cpu = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : wall;
      resolve({ secs: cpu, wall, code, out: out + err });
    });
  });
}

export function hasBash(): boolean { return onPath('bash'); }

export const qemu: Peer = {
  name: 'qemu',
  missing: () => (!onPath('qemu-system-x86_64') ? 'qemu not installed' : !onPath('bash') ? 'bash not installed' : undefined),
  async run(img, _dir, timeoutSec) {
    // isa-debug-exit: the guest's `out 0xf4, 0` makes QEMU exit with status (0 << 1) | 1 = 1.
    const r = await timed('qemu-system-x86_64', ['-accel', 'tcg', '-display', 'none', '-nodefaults', '-no-reboot',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-drive', `file=${img},format=raw,if=floppy`, '-boot', 'a'],
    timeoutSec);
    if (r.code !== 1) throw new Error(`qemu exited with ${r.code}, not through isa-debug-exit: ${r.out.slice(-400)}`);
    return r.secs;
  },
};

const BOCHS_BIOS = '/usr/share/bochs/BIOS-bochs-latest';
const VGA_BIOS = ['/usr/share/vgabios/vgabios.bin', '/usr/share/bochs/VGABIOS-lgpl-latest'];

export const bochs: Peer = {
  name: 'bochs',
  missing() {
    if (!onPath('bochs-bin') && !onPath('bochs')) return 'bochs not installed';
    if (!onPath('bash')) return 'bash not installed';
    if (!existsSync(BOCHS_BIOS)) return `bochs BIOS ${BOCHS_BIOS} not installed (bochsbios)`;
    if (!VGA_BIOS.some(existsSync)) return 'VGA BIOS not installed (vgabios)';
    return undefined;
  },
  async run(img, dir, timeoutSec) {
    // Headless: the RFB display (part of the bochs package) not waiting for a client; no sound
    // (Debian's mixer thread aborts without ALSA); instruction-driven clock. The guest ends by
    // writing "Shutdown" to port 0x8900, which Bochs turns into a panic we make fatal (exit).
    const rc = join(dir, 'bochsrc.txt');
    writeFileSync(rc, [
      'megs: 32',
      `romimage: file=${BOCHS_BIOS}`,
      `vgaromimage: file=${VGA_BIOS.find(existsSync)}`,
      `floppya: 1_44=${img}, status=inserted`,
      'boot: floppy',
      'display_library: rfb, options="timeout=0"',
      'sound: driver=dummy',
      'speaker: enabled=0',
      `log: ${join(dir, 'bochs.log')}`,
      'panic: action=fatal', 'error: action=ignore', 'info: action=ignore', 'debug: action=ignore',
      'port_e9_hack: enabled=1',
      'clock: sync=none, time0=local',
      'cpu: count=1, ips=100000000',
      '',
    ].join('\n'));
    // Debian builds Bochs with its debugger, which waits for a command at start: "c" continues.
    const cmds = join(dir, 'bochs-debugger.txt');
    writeFileSync(cmds, 'c\nquit\n');
    const bin = onPath('bochs-bin') ? 'bochs-bin' : 'bochs';
    const r = await timed(bin, ['-q', '-f', rc, '-rc', cmds], timeoutSec);
    if (!/Shutdown port: shutdown requested/.test(r.out)) throw new Error(`bochs did not reach the guest's shutdown: ${r.out.slice(-400)}`);
    return r.secs;
  },
};

/** The repository root (this module may run from a bundle elsewhere). */
const ROOT = (() => {
  for (let d = __dirname; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'bin', 'kvm-guest.js'))) return d;
    if (dirname(d) === d) return process.cwd();
  }
})();

/**
 * The product itself as users run it: `kvm-guest run` of the same floppy image (the whole VM: KVM
 * model, VMM, exits), flat at 0x7C00 in real mode like a BIOS boot, ended by the guest's exit-port
 * write; with the block compiler (--jit) or the interpreter alone.
 */
function kvmGuest(jit: boolean): Peer {
  const cli = join(ROOT, 'bin', 'kvm-guest.js');
  return {
    name: jit ? 'kvm-guest --jit' : 'kvm-guest',
    missing: () => (!existsSync(join(ROOT, 'dist', 'cli.cjs')) ? 'dist/cli.cjs is not built (npm run build)' : !onPath('bash') ? 'bash not installed' : undefined),
    async run(img, _dir, timeoutSec) {
      const r = await timed(process.execPath, [cli, 'run', img, '--format', 'flat', '--load', '0x7c00', '--entry', 'real',
        '--memory', '32M', '--json', ...(jit ? ['--jit'] : [])], timeoutSec);
      if (r.code !== 0 || !/"end": "EXIT_PORT"/.test(r.out)) throw new Error(`kvm-guest run did not end at the exit port (status ${r.code}): ${r.out.slice(-400)}`);
      return r.secs;
    },
  };
}
export const kvmGuestInterpreter = kvmGuest(false);
export const kvmGuestJit = kvmGuest(true);

export const PEERS: Peer[] = [qemu, bochs];
/** The product measured the way the peers are (process CPU time, zero-iteration run subtracted). */
export const PRODUCT_RUNS: Peer[] = [kvmGuestInterpreter, kvmGuestJit];
