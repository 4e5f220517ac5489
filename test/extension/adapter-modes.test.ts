// The three ways the extension reaches the debug adapter (kvmGuest.adapterMode), each exercised
// without VS Code on the bundle the .vsix ships (scripts/build.mjs into a temporary dir):
//   inline   KvmGuestSession driven through vscode.DebugAdapter's handleMessage/onDidSendMessage,
//            exactly what DebugAdapterInlineImplementation does;
//   process  `node dist/adapter.js` speaking DAP over stdio (DebugAdapterExecutable);
//   server   the extension's in-host loopback server (extension/adapter-server.ts), and
//            `node dist/adapter.js --server=PORT`.
// Each runs the same session: seed 003 with KVM_CAP_EXIT_HYPERCALL, a source breakpoint, the exit
// filter kvm-hypercall with condition `nr == 12`, the reply edited, a step, the custom requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { AdapterModule } from '../../extension/adapter-loader';
import { startInHostServer } from '../../extension/adapter-server';
import type { ExitLogResponse, RegisterCacheResponse, StatisticsResponse } from '../../extension/protocol';

const ROOT = join(__dirname, '..', '..');
const PROGRAM = join(ROOT, 'examples', 'seed003-map-gpa-range.asm');
const BP_LINE = 7; // mov eax, 12: the entry instruction
const out = mkdtempSync(join(tmpdir(), 'adapter-modes-'));
const adapterJs = join(out, 'adapter.js');

before(() => {
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--outdir', out], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(b.status, 0, `scripts/build.mjs failed:\n${b.stdout}\n${b.stderr}`);
});
after(() => rmSync(out, { recursive: true, force: true }));

/** The requests the scenario needs, whatever carries them. */
interface Dap {
  request(command: string, args?: unknown): Promise<DebugProtocol.Response>;
  waitForEvent(event: string, timeout?: number): Promise<DebugProtocol.Event>;
}

async function scenario(dap: Dap): Promise<void> {
  const init = await dap.request('initialize', { adapterID: 'kvm-guest', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const filters = (init.body as DebugProtocol.Capabilities).exceptionBreakpointFilters ?? [];
  const hc = filters.find((f) => f.filter === 'kvm-hypercall');
  assert.ok(hc?.supportsCondition, 'exit filter kvm-hypercall with a condition');
  assert.equal(hc.label, 'KVM_EXIT_HYPERCALL');

  const initialized = dap.waitForEvent('initialized');
  await dap.request('launch', { program: PROGRAM, caps: ['KVM_CAP_EXIT_HYPERCALL=0x1000'] });
  await initialized;
  const bps = await dap.request('setBreakpoints', { source: { path: PROGRAM }, breakpoints: [{ line: BP_LINE }] });
  assert.equal((bps.body as { breakpoints: { verified: boolean }[] }).breakpoints[0].verified, true);
  await dap.request('setExceptionBreakpoints', { filters: [], filterOptions: [{ filterId: 'kvm-hypercall', condition: 'nr == 12' }] });
  let stopped = dap.waitForEvent('stopped');
  await dap.request('configurationDone');
  let ev = await stopped;
  assert.equal(ev.body.reason, 'breakpoint', 'paused on the source breakpoint');
  let frames = (await dap.request('stackTrace', { threadId: 1 })).body.stackFrames as DebugProtocol.StackFrame[];
  assert.equal(frames[0].line, BP_LINE);

  stopped = dap.waitForEvent('stopped');
  await dap.request('continue', { threadId: 1 });
  ev = await stopped;
  assert.equal(ev.body.reason, 'exception');
  assert.match(ev.body.text, /KVM_EXIT_HYPERCALL nr=12/);
  frames = (await dap.request('stackTrace', { threadId: 1 })).body.stackFrames;
  assert.match(frames[0].name, /^KVM: .*kvm_emulate_hypercall/);
  const scopes = (await dap.request('scopes', { frameId: frames[frames.length - 1].id })).body.scopes as DebugProtocol.Scope[];
  assert.ok(scopes.some((s) => s.name === 'KVM register cache'));
  const exitScope = scopes.find((s) => s.name === 'Current exit (kvm_run)');
  assert.ok(exitScope);
  await dap.request('variables', { variablesReference: exitScope.variablesReference });
  const set = await dap.request('setVariable', { variablesReference: exitScope.variablesReference, name: 'hypercall.ret', value: '0x2a' });
  assert.equal(set.body.value, '0x2a');

  stopped = dap.waitForEvent('stopped');
  await dap.request('next', { threadId: 1 });
  await stopped;
  frames = (await dap.request('stackTrace', { threadId: 1 })).body.stackFrames;
  const regsScope = ((await dap.request('scopes', { frameId: frames[0].id })).body.scopes as DebugProtocol.Scope[]).find((s) => s.name === 'Registers');
  const regs = (await dap.request('variables', { variablesReference: regsScope!.variablesReference })).body.variables as DebugProtocol.Variable[];
  assert.equal(regs.find((v) => v.name === 'rax')?.value, '0x2a', 'RAX holds the edited reply');

  const log = (await dap.request('kvmGuest/exitLog', { sinceIndex: 0 })).body as ExitLogResponse;
  const exit = log.exits.find((e) => e.reason === 'HYPERCALL');
  assert.ok(exit, JSON.stringify(log));
  assert.equal(exit.layer, 'userspace');
  assert.match(exit.details, /nr=12/);
  assert.deepEqual(exit.source, { path: PROGRAM, line: 11 });
  assert.deepEqual((await dap.request('kvmGuest/exitLog', { sinceIndex: exit.index + 1 })).body.exits, []);
  const rc = (await dap.request('kvmGuest/registerCache', {})).body as RegisterCacheResponse;
  const rax = rc.regs.find((r) => r.name === 'VCPU_REGS_RAX');
  assert.equal(rax?.cached, '0x2a');
  assert.equal(typeof rc.avail, 'number');
  assert.ok(rc.vmreads > 0 && rc.vmwrites > 0);
  const stats = (await dap.request('kvmGuest/statistics')).body as StatisticsResponse;
  assert.ok(stats.byReason.some((r) => r.reason === 'HYPERCALL' && r.count === 1));
  assert.ok(Array.isArray(stats.timeline) && stats.totalInstructions > 0);
  assert.match((await dap.request('kvmGuest/inject', { kind: 'nmi' })).body.result, /NMI/);
  await dap.request('disconnect', {});
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

function clientDap(dc: DebugClient): Dap {
  return {
    request: (command, args) => dc.send(command, args),
    waitForEvent: (event, timeout = 15000) => dc.waitForEvent(event, timeout),
  };
}

test('inline: KvmGuestSession through handleMessage/onDidSendMessage (DebugAdapterInlineImplementation)', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(adapterJs) as AdapterModule;
  const session = new mod.KvmGuestSession();
  let seq = 1;
  const pending = new Map<number, (r: DebugProtocol.Response) => void>();
  const waiters: { event: string; resolve: (e: DebugProtocol.Event) => void }[] = [];
  session.onDidSendMessage((m) => {
    const msg = m as DebugProtocol.ProtocolMessage;
    if (msg.type === 'response') pending.get((msg as DebugProtocol.Response).request_seq)?.((msg as DebugProtocol.Response));
    if (msg.type === 'event') {
      const ev = msg as DebugProtocol.Event;
      const i = waiters.findIndex((w) => w.event === ev.event);
      if (i >= 0) waiters.splice(i, 1)[0].resolve(ev);
    }
  });
  const dap: Dap = {
    request: (command, args) => new Promise((resolve, reject) => {
      const s = seq++;
      pending.set(s, (r) => (r.success ? resolve(r) : reject(new Error(`${command}: ${r.message}`))));
      session.handleMessage({ seq: s, type: 'request', command, arguments: args } as DebugProtocol.Request);
    }),
    waitForEvent: (event, timeout = 15000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} event in ${timeout} ms`)), timeout);
      waiters.push({ event, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    }),
  };
  try {
    await scenario(dap);
  } finally {
    session.dispose();
  }
});

test('process: `node dist/adapter.js` speaks DAP over stdio (DebugAdapterExecutable)', async () => {
  const dc = new DebugClient(process.execPath, adapterJs, 'kvm-guest');
  await dc.start();
  try {
    await scenario(clientDap(dc));
  } finally {
    await dc.stop();
  }
});

test('server: the extension\'s in-host loopback server (port 0: a free port on 127.0.0.1)', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const server = await startInHostServer(require(adapterJs) as AdapterModule);
  try {
    assert.ok(server.port > 0);
    // Two sessions in a row on the same server.
    for (let i = 0; i < 2; i++) {
      const dc = new DebugClient('node', '', 'kvm-guest');
      await dc.start(server.port);
      try {
        await scenario(clientDap(dc));
      } finally {
        await dc.stop();
      }
    }
  } finally {
    await server.close();
  }
});

test('server: `node dist/adapter.js --server=PORT` (DebugAdapterServer to a running adapter)', async () => {
  const { freePort } = await import(join(ROOT, 'test', 'e2e', 'vscode-web.mjs'));
  const port: number = await freePort();
  const child: ChildProcess = spawn(process.execPath, [adapterJs, `--server=${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    // DebugSession.run says "waiting for debug protocol on port N" before it listens: poll the port.
    let text = '';
    child.stderr!.on('data', (d: Buffer) => { text += d; });
    let exited: number | null | undefined;
    child.on('exit', (c) => { exited = c; });
    const deadline = Date.now() + 15000;
    while (!(await canConnect(port))) {
      if (exited !== undefined) assert.fail(`adapter exited with ${exited}: ${text}`);
      if (Date.now() > deadline) assert.fail(`adapter did not listen on ${port} in 15 s: ${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const dc = new DebugClient('node', '', 'kvm-guest');
    await dc.start(port);
    try {
      await scenario(clientDap(dc));
    } finally {
      await dc.stop();
    }
  } finally {
    child.kill();
  }
});
