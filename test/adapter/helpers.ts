// Shared pieces of the adapter tests: a DAP client over stdio (the adapter spawned from its sources
// through test/adapter/run-adapter.cjs, as VS Code spawns an adapter), the guests in
// test/adapter/guests with their `; @marker` lines, and small helpers over DebugClient.
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
export const ADAPTER = join(ROOT, 'test/adapter/run-adapter.cjs');
export const GUESTS = join(ROOT, 'test/adapter/guests');
export const EXAMPLES = join(ROOT, 'examples');

export const guest = (name: string): string => join(GUESTS, name);
export const example = (name: string): string => join(EXAMPLES, name);

/** The 1-based line of `; @marker` in a guest source. */
export function lineOf(file: string, marker: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => new RegExp(`;\\s*@${marker}\\b`).test(l));
  if (i < 0) throw new Error(`no marker @${marker} in ${file}`);
  return i + 1;
}

/** The 1-based line of the first line containing `text`. */
export function lineWith(file: string, text: string): number {
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`no line with '${text}' in ${file}`);
  return i + 1;
}

export type Stopped = DebugProtocol.StoppedEvent;
export type LaunchArgs = Record<string, unknown> & { program: string };

export interface LaunchSetup {
  /** Source breakpoints by file. */
  breakpoints?: { path: string; lines: number[] }[];
  /** setExceptionBreakpoints arguments (exit filters). */
  filters?: DebugProtocol.SetExceptionBreakpointsArguments;
  /** Anything else to do between `initialized` and configurationDone. */
  configure?: (s: DapSession) => Promise<void>;
}

/** One adapter process and its DAP session. */
export class DapSession {
  readonly output: DebugProtocol.OutputEvent['body'][] = [];
  terminated = false;
  exitCode: number | undefined;

  private constructor(readonly dc: DebugClient) {
    dc.on('output', (e: DebugProtocol.OutputEvent) => this.output.push(e.body));
    dc.on('terminated', () => { this.terminated = true; });
    dc.on('exited', (e: DebugProtocol.ExitedEvent) => { this.exitCode = e.body.exitCode; });
  }

  static async start(): Promise<DapSession> {
    const dc = new DebugClient('node', ADAPTER, 'kvm-guest', { cwd: ROOT });
    dc.defaultTimeout = 10_000;
    await dc.start();
    return new DapSession(dc);
  }

  initialize(): Promise<DebugProtocol.InitializeResponse> {
    return this.dc.initializeRequest({ adapterID: 'kvm-guest', clientID: 'test', linesStartAt1: true, columnsStartAt1: true,
      pathFormat: 'path', supportsVariableType: true, supportsMemoryReferences: true, supportsProgressReporting: true,
      supportsInvalidatedEvent: true });
  }

  /**
   * initialize (unless done), launch, configure, configurationDone; resolves with the first stop
   * (stopOnEntry, a filter at creation) or undefined when the guest ran to its end.
   */
  async launch(args: LaunchArgs, setup: LaunchSetup = {}, initialize = true): Promise<Stopped | undefined> {
    if (initialize) await this.initialize();
    const initialized = this.dc.waitForEvent('initialized');
    await this.dc.launchRequest({ ...args } as DebugProtocol.LaunchRequestArguments);
    await initialized;
    for (const b of setup.breakpoints ?? []) {
      await this.dc.setBreakpointsRequest({ source: { path: b.path }, breakpoints: b.lines.map((line) => ({ line })) });
    }
    if (setup.filters) await this.dc.setExceptionBreakpointsRequest(setup.filters);
    await setup.configure?.(this);
    const first = this.nextStopOrEnd();
    await this.dc.configurationDoneRequest();
    return first;
  }

  /** The next stopped event, or undefined if the session terminates first. */
  nextStopOrEnd(timeout = 10_000): Promise<Stopped | undefined> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { cleanup(); reject(new Error(`no stopped or terminated event within ${timeout} ms`)); }, timeout);
      const onStop = (e: Stopped) => { cleanup(); resolve(e); };
      const onEnd = () => { cleanup(); resolve(undefined); };
      const cleanup = () => { clearTimeout(t); this.dc.removeListener('stopped', onStop); this.dc.removeListener('terminated', onEnd); };
      this.dc.on('stopped', onStop);
      this.dc.on('terminated', onEnd);
    });
  }

  /** Send a request that resumes the guest and wait for the stop (or the end) it leads to. */
  async resume(f: (dc: DebugClient) => Promise<unknown>): Promise<Stopped | undefined> {
    const p = this.nextStopOrEnd();
    await f(this.dc);
    return p;
  }
  cont(): Promise<Stopped | undefined> { return this.resume((dc) => dc.continueRequest({ threadId: 1 })); }
  stepIn(threadId = 1, granularity: DebugProtocol.SteppingGranularity = 'instruction'): Promise<Stopped | undefined> {
    return this.resume((dc) => dc.stepInRequest({ threadId, granularity }));
  }
  next(threadId = 1, granularity: DebugProtocol.SteppingGranularity = 'instruction'): Promise<Stopped | undefined> {
    return this.resume((dc) => dc.nextRequest({ threadId, granularity }));
  }
  stepBack(threadId = 1): Promise<Stopped | undefined> { return this.resume((dc) => dc.stepBackRequest({ threadId })); }
  reverseContinue(threadId = 1): Promise<Stopped | undefined> { return this.resume((dc) => dc.reverseContinueRequest({ threadId })); }
  restart(): Promise<Stopped | undefined> { return this.resume((dc) => dc.restartRequest({})); }

  async frames(threadId = 1): Promise<DebugProtocol.StackFrame[]> {
    return (await this.dc.stackTraceRequest({ threadId })).body.stackFrames;
  }
  /** The frame with the guest's RIP (skipping the KVM handler label frame). */
  async topFrame(threadId = 1): Promise<DebugProtocol.StackFrame> {
    const f = await this.frames(threadId);
    return f.find((x) => x.instructionPointerReference !== undefined)!;
  }
  async scopes(threadId = 1): Promise<DebugProtocol.Scope[]> {
    const f = await this.topFrame(threadId);
    return (await this.dc.scopesRequest({ frameId: f.id })).body.scopes;
  }
  async scope(name: string | RegExp, threadId = 1): Promise<{ ref: number; vars: DebugProtocol.Variable[] }> {
    const s = (await this.scopes(threadId)).find((x) => typeof name === 'string' ? x.name === name : name.test(x.name));
    if (!s) throw new Error(`no scope ${String(name)}`);
    return { ref: s.variablesReference, vars: (await this.dc.variablesRequest({ variablesReference: s.variablesReference })).body.variables };
  }
  /** General registers by name (values as the adapter shows them, "0x..."). */
  async regs(threadId = 1): Promise<Record<string, string>> {
    const { vars } = await this.scope('Registers', threadId);
    return Object.fromEntries(vars.map((v) => [v.name, v.value]));
  }
  async reg(name: string, threadId = 1): Promise<bigint> {
    return BigInt((await this.regs(threadId))[name]);
  }
  /** Evaluate an expression (hover context) and return the value as BigInt. */
  async value(expression: string): Promise<bigint> {
    const r = await this.dc.evaluateRequest({ expression, context: 'watch' });
    return BigInt(r.body.result.split(' ')[0]);
  }
  async repl(expression: string): Promise<string> {
    return (await this.dc.evaluateRequest({ expression, context: 'repl' })).body.result;
  }
  /** The top frame's source line. */
  async line(): Promise<number> { return (await this.topFrame()).line; }
  async rip(): Promise<number> { return Number((await this.topFrame()).instructionPointerReference); }

  outputText(category?: string): string {
    return this.output.filter((o) => !category || o.category === category).map((o) => o.output).join('');
  }

  async close(): Promise<void> {
    try { await this.dc.disconnectRequest({ terminateDebuggee: true }); } catch { /* already gone */ }
    await this.dc.stop();
  }
}

/** Assert a request fails (an error response) and the message matches. */
export async function rejects(p: Promise<unknown>, re: RegExp): Promise<string> {
  try { await p; } catch (e) {
    const msg = (e as Error).message;
    if (!re.test(msg)) throw new Error(`error '${msg}' does not match ${re}`);
    return msg;
  }
  throw new Error(`expected an error response matching ${re}`);
}
