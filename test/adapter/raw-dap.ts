// A DAP client over the adapter's stdio that writes raw bytes (malformed messages included) and
// parses what the adapter answers: the hostile-input tests and the soak of `npm run fuzz`.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { ADAPTER, ROOT } from './helpers';

export type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A DAP client that writes raw bytes to the adapter's stdin and parses what it answers. */
export class RawDap {
  readonly messages: Msg[] = [];
  private buf = Buffer.alloc(0);
  private waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  private seq = 1;
  exitCode: number | null | undefined;
  readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d: Buffer) => this.feed(d));
    this.exited = new Promise((r) => proc.on('exit', (code) => { this.exitCode = code; r(code); }));
  }
  static start(script = ADAPTER, args: string[] = []): RawDap {
    return new RawDap(spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] }));
  }
  private feed(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const h = this.buf.indexOf('\r\n\r\n');
      if (h < 0) return;
      const n = Number(/Content-Length: (\d+)/.exec(this.buf.subarray(0, h).toString())![1]);
      if (this.buf.length < h + 4 + n) return;
      const m = JSON.parse(this.buf.subarray(h + 4, h + 4 + n).toString('utf8')) as Msg;
      this.buf = this.buf.subarray(h + 4 + n);
      this.messages.push(m);
      for (const w of [...this.waiters]) if (w.pred(m)) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(m); }
    }
  }
  writeRaw(b: Buffer | string): void { this.proc.stdin!.write(b); }
  frame(body: Buffer | string, length?: number): Buffer {
    const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return Buffer.concat([Buffer.from(`Content-Length: ${length ?? b.length}\r\n\r\n`), b]);
  }
  waitFor(pred: (m: Msg) => boolean, ms = 30_000, what = 'a message'): Promise<Msg> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms (adapter exit code ${this.exitCode})`)), ms);
      this.waiters.push({ pred, resolve: (m) => { clearTimeout(t); resolve(m); } });
    });
  }
  /** Send a request; resolves with its response (success or not). */
  request(command: string, args?: unknown): Promise<Msg> {
    const seq = this.seq++;
    this.writeRaw(this.frame(JSON.stringify({ seq, type: 'request', command, arguments: args })));
    return this.waitFor((m) => m.type === 'response' && m.request_seq === seq, 60_000, `response to ${command}`);
  }
  event(name: string, after = 0): Promise<Msg> {
    return this.waitFor((m) => m.type === 'event' && m.event === name && m.seq > after, 60_000, `${name} event`);
  }
  lastSeq(): number { return this.messages.length ? this.messages[this.messages.length - 1].seq : 0; }
  /** initialize + launch (stopped on entry). */
  async launchStopped(program: string, extra: Record<string, unknown> = {}): Promise<void> {
    await this.request('initialize', { adapterID: 'kvm-guest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
    const r = await this.request('launch', { program, stopOnEntry: true, ...extra });
    assert.equal(r.success, true, r.message);
    await this.event('initialized');
    await this.request('configurationDone');
    await this.event('stopped');
  }
  kill(): void { if (this.exitCode === undefined) this.proc.kill(); }
}

