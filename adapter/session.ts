// The debug adapter: translates the Debug Adapter Protocol to vm-core's debug model (DebugEngine),
// like vscode-mock-debug's session over its runtime. The engine knows nothing of DAP.
import {
  LoggingDebugSession, InitializedEvent, StoppedEvent, OutputEvent, TerminatedEvent, ExitedEvent, Thread, StackFrame,
  Scope, Source, Breakpoint, InvalidatedEvent, ContinuedEvent, ProgressStartEvent, ProgressUpdateEvent, ProgressEndEvent, Event,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { basename } from 'node:path';
import { DebugEngine, type StopEvent, type CodeBreakpoint } from '../vm-core/debug/engine';
import { resolveLaunchOptions } from '../vm-core/config/launch-options';
import { EXIT_FILTERS } from '../vm-core/debug/exit-filters';
import { Expression, ExprError, exprErrorText } from '../vm-core/debug/expr';
import type { VarNode } from '../vm-core/debug/inspect';
import { interruptControllerNodes } from '../vm-core/debug/irqchip-scope';
import { nestedNodes, nestedLevel } from '../vm-core/debug/nested-scope';
import { disassemble } from '../vm-core/debug/disasm';
import { exitFieldsText } from '../vm-core/debug/exit-events';
import { runConsoleCommand, consoleCompletions, commandCompletions, isConsoleCommand, EXIT_LOG_KEYS } from './console';
import { SourceLevel } from '../vm-core/debug/source-level';
import { GdbStub } from './gdb-stub';
import { DapFraming } from './framing';

/** Keys of a launch configuration that belong to VS Code, not to the launch options. */
const DAP_KEYS = ['type', 'request', 'name', 'cwd', 'noDebug', 'preLaunchTask', 'postDebugTask', 'internalConsoleOptions',
  'debugServer', 'presentation', 'env', '__sessionId', '__configurationTarget', 'trace', '__restart'];

const MAX_READ = 16 * 1024 * 1024;

class BadRequest extends Error {}

/** Most instructions one disassemble request decodes (VS Code asks for a screenful at a time). */
export const MAX_DISASSEMBLE = 10_000;

export class KvmGuestSession extends LoggingDebugSession {
  private engine: DebugEngine | undefined;
  private configDone!: () => void;
  private configured = new Promise<void>((r) => { this.configDone = r; });
  private stopOnEntry = false;
  private consoleOutput = true;
  private handles = new Map<number, () => VarNode[]>();
  private nodesByRef = new Map<number, VarNode[]>();
  private nextHandle = 1;
  private progressId = 0;
  private progressActive = false;
  private sourceLevel: SourceLevel | undefined;
  private gdbStub: GdbStub | undefined;
  /** The program of the launch that succeeded (a second launch is refused). */
  private launched: string | undefined;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  /**
   * Read DAP from `input` through DapFraming instead of the library's reader, which shuts a stdio
   * adapter down at the first unparseable message: a bad message is answered with an output event
   * (and an error response when its request can be named) and the session goes on.
   */
  override start(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): void {
    const framing = new DapFraming({
      message: (m) => this.dispatchMessage(m),
      bad: (problem) => this.sendEvent(new OutputEvent(`kvm-guest adapter: malformed DAP message ignored: ${problem}\n`, 'stderr')),
    });
    // The library reads through this._handleData (ProtocolServer.start): route the bytes to DapFraming.
    (this as unknown as { _handleData: (d: Buffer) => void })._handleData = (d) => framing.feed(typeof d === 'string' ? Buffer.from(d, 'utf8') : d);
    super.start(input, output);
  }

  private dispatchMessage(m: Record<string, unknown>): void {
    if (m.type === 'request') {
      if (typeof m.command !== 'string' || !Number.isSafeInteger(m.seq)) {
        this.sendEvent(new OutputEvent(`kvm-guest adapter: malformed DAP request ignored: ${typeof m.command !== 'string' ? '"command" must be a string' : '"seq" must be an integer'}\n`, 'stderr'));
        return;
      }
      if (m.arguments !== undefined && (m.arguments === null || typeof m.arguments !== 'object' || Array.isArray(m.arguments))) {
        const r = { seq: 0, type: 'response', request_seq: m.seq as number, command: m.command, success: false } as DebugProtocol.Response;
        this.sendErrorResponse(r, 2004, `${m.command}: "arguments" must be an object`);
        return;
      }
    }
    try { this.handleMessage(m as unknown as DebugProtocol.ProtocolMessage); }
    catch (e) { this.sendEvent(new OutputEvent(`kvm-guest adapter: DAP message failed: ${(e as Error).message}\n`, 'stderr')); }
  }

  // ---------------------------------------------------------------- lifecycle

  protected override initializeRequest(response: DebugProtocol.InitializeResponse, args: DebugProtocol.InitializeRequestArguments): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsEvaluateForHovers: true,
      supportsStepBack: true,
      supportsSetVariable: true,
      supportsRestartRequest: true,
      supportsExceptionInfoRequest: true,
      supportsExceptionFilterOptions: true,
      exceptionBreakpointFilters: EXIT_FILTERS.map((f) => ({
        filter: f.filter, label: f.label, description: f.description, default: false,
        supportsCondition: true, conditionDescription: f.conditionDescription,
      })),
      supportsDataBreakpoints: true,
      supportsReadMemoryRequest: true,
      supportsWriteMemoryRequest: true,
      supportsDisassembleRequest: true,
      supportsInstructionBreakpoints: true,
      supportsSteppingGranularity: true,
      supportsCompletionsRequest: true,
      completionTriggerCharacters: ['.', ' '],
      supportsTerminateRequest: true,
      supportsBreakpointLocationsRequest: true,
      supportsValueFormattingOptions: false,
      supportsDelayedStackTraceLoading: true,
      supportsSingleThreadExecutionRequests: false,
    };
    this.sendResponse(response);
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: DebugProtocol.LaunchRequestArguments): Promise<void> {
    // One guest per session: a second launch would replace the first (two initialized events).
    if (this.launched) { this.sendErrorResponse(response, 2005, `launch: a guest is already launched in this session (${this.launched}); start a new debug session`); return; }
    const raw = (args ?? {}) as unknown as Record<string, unknown>;
    const { options, errors } = resolveLaunchOptions(raw, DAP_KEYS);
    if (errors.length) {
      this.sendErrorResponse(response, 2001, `Invalid launch configuration: ${errors.map((e) => `"${e.option}": ${e.message}`).join('; ')}`);
      return;
    }
    this.stopOnEntry = options.stopOnEntry;
    this.consoleOutput = options.console !== 'none';
    const baseDir = typeof raw.cwd === 'string' ? raw.cwd : process.cwd();
    const r = DebugEngine.launch(options, baseDir, {
      stopped: (e) => { this.onStopped(e); this.gdbStub?.onStopped(e); },
      output: (text, category) => {
        if (category === 'stdout' && !this.consoleOutput) return;
        this.sendEvent(new OutputEvent(text, category === 'important' ? 'important' : category));
      },
      ended: (info) => {
        this.gdbStub?.onEnded(info);
        this.endProgress();
        this.sendEvent(new OutputEvent(`guest ended: ${info.end}${info.message ? ` (${info.message})` : ''}, exit code ${info.code}\n`, 'console'));
        this.sendEvent(new ExitedEvent(info.code));
        this.sendEvent(new TerminatedEvent());
      },
      progress: (n) => this.reportProgress(n),
      // The serial port alone, for a terminal on it (the extension's Pseudoterminal): one char per byte.
      uart: (text) => this.sendEvent(new Event('kvmGuest/uartOutput', { text })),
    });
    for (const w of r.warnings) this.sendEvent(new OutputEvent(w + '\n', 'console'));
    if (!r.engine) {
      this.sendErrorResponse(response, 2002, `Cannot launch ${String(options.program)}: ${r.errors.join('; ')}`);
      return;
    }
    this.engine = r.engine;
    if (options.gdbPort !== undefined) {
      // The gdbPort launch option: gdb and other RSP clients attach to this same guest.
      this.gdbStub = new GdbStub(r.engine, { port: options.gdbPort });
      try {
        const port = await this.gdbStub.listen();
        this.sendEvent(new OutputEvent(`GDB remote protocol on 127.0.0.1:${port} (gdb -ex 'target remote :${port}')\n`, 'console'));
      } catch (err) {
        this.gdbStub = undefined;
        this.sendEvent(new OutputEvent(`gdbPort ${options.gdbPort}: ${(err as Error).message}\n`, 'important'));
      }
    }
    this.launched = String(options.program);
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
    await this.configured;
    this.engine.configurationDone(this.stopOnEntry);
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.configDone();
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.gdbStub?.close();
    if (this.engine) { this.engine.pause(); this.engine.state = 'ended'; }
    this.endProgress();
    this.sendResponse(response);
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    if (this.engine) { this.engine.state = 'ended'; }
    this.endProgress();
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  /** restart: a RESET of the VM (which KVM itself cannot do: seed 001). */
  protected override restartRequest(response: DebugProtocol.RestartResponse): void {
    this.guard(response, () => {
      const e = this.need();
      e.resetVm();
      this.sendResponse(response);
      // The guest runs again: VS Code drops the previous stop's details (the Call Stack header kept
      // the last exit's text otherwise; it clears them only on continued or on its own step requests).
      this.sendEvent(new ContinuedEvent(1, true));
      this.sendEvent(new OutputEvent('VM RESET\n', 'console'));
      if (this.stopOnEntry) e.stopAtEntry('RESET');
      else e.resume(false);
    });
  }

  // ---------------------------------------------------------------- breakpoints

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    this.guard(response, () => {
      const e = this.need();
      const path = args.source?.path;
      if (!path) throw new BadRequest('setBreakpoints: source.path is required');
      strArg('setBreakpoints', 'source.path', path);
      if (args.breakpoints !== undefined && !Array.isArray(args.breakpoints)) throw new BadRequest('setBreakpoints: "breakpoints" must be an array');
      const bps = (args.breakpoints ?? []).map((b) => ({ line: this.convertClientLineToDebugger(intArg('setBreakpoints', 'breakpoints[].line', b?.line)), condition: b.condition, hitCondition: b.hitCondition, logMessage: b.logMessage }));
      const out = e.setSourceBreakpoints(path, bps);
      response.body = { breakpoints: out.map((b) => this.dapBreakpoint(b)) };
      this.sendResponse(response);
    });
  }

  protected override breakpointLocationsRequest(response: DebugProtocol.BreakpointLocationsResponse, args: DebugProtocol.BreakpointLocationsArguments): void {
    this.guard(response, () => {
      const e = this.need();
      const path = args.source.path ?? '';
      const from = this.convertClientLineToDebugger(args.line), to = args.endLine ? this.convertClientLineToDebugger(args.endLine) : from;
      const lines = new Set<number>();
      for (const l of e.image.lines) if (samePath(l.file, path) && l.line >= from && l.line <= to) lines.add(l.line);
      response.body = { breakpoints: [...lines].sort((a, b) => a - b).map((line) => ({ line: this.convertDebuggerLineToClient(line) })) };
      this.sendResponse(response);
    });
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.guard(response, () => {
      const out = this.need().setFunctionBreakpoints((args.breakpoints ?? []).map((b) => ({ name: b.name, condition: b.condition, hitCondition: b.hitCondition })));
      response.body = { breakpoints: out.map((b) => this.dapBreakpoint(b)) };
      this.sendResponse(response);
    });
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    this.guard(response, () => {
      const list = (args.breakpoints ?? []).map((b) => {
        const a = parseAddress(b.instructionReference);
        if (a === undefined) throw new BadRequest(`setInstructionBreakpoints: bad instructionReference '${b.instructionReference}'`);
        return { address: addressArg('setInstructionBreakpoints', a, b.offset), condition: b.condition, hitCondition: b.hitCondition };
      });
      const out = this.need().setInstructionBreakpoints(list);
      response.body = { breakpoints: out.map((b) => this.dapBreakpoint(b)) };
      this.sendResponse(response);
    });
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    this.guard(response, () => {
      const ids = args.filters ?? [];
      const opts = (args.filterOptions ?? []).map((o) => ({ filterId: o.filterId, condition: o.condition }));
      const errors = this.need().setExitFilters(ids, opts);
      const all = [...ids, ...opts.map((o) => o.filterId)];
      response.body = { breakpoints: all.map((id) => ({ verified: !errors.has(id), message: errors.get(id) })) };
      this.sendResponse(response);
    });
  }

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    this.guard(response, () => {
      const e = this.need();
      // A register variable (Registers / Control registers scopes) ...
      if (args.variablesReference !== undefined && args.name) {
        const node = this.nodesByRef.get(args.variablesReference)?.find((n) => n.name === args.name);
        if (node?.dataId) {
          response.body = { dataId: node.dataId, description: `${args.name} changes`, accessTypes: ['write'], canPersist: true };
          this.sendResponse(response);
          return;
        }
      }
      // ... or a C lvalue of a C guest (a variable, `p->next->val`, `arr[2]`) ...
      const src = this.source();
      if (src.c && args.variablesReference === undefined && !args.asAddress) {
        try {
          const r = src.evaluate(e.focus, 0, args.name);
          if (r.address !== undefined) {
            const size = Math.max(1, Math.min(r.size, 4096));
            response.body = { dataId: `mem:v:${r.address}:${size}`, description: `${args.name} (${size} bytes at 0x${r.address.toString(16)})`,
              accessTypes: ['read', 'write', 'readWrite'], canPersist: false };
            this.sendResponse(response);
            return;
          }
        } catch { /* not a C lvalue: the register/memory language below */ }
      }
      // ... or an expression/address: `[expr]`, `gpa(expr)`, an address, with asAddress/bytes.
      const text = args.name.trim();
      const phys = /^(gpa|phys):/i.test(text) || /^gpa\(/.test(text);
      const exprText = text.replace(/^(gpa|phys):/i, '').replace(/^gpa\((.*)\)$/, '$1');
      let addr: number;
      try { addr = Number(BigInt.asIntN(64, Expression.parse(exprText).evaluate(e.evalContext(e.focus)))); }
      catch (err) { response.body = { dataId: null, description: `not a data breakpoint target: ${exprErrorText(err)}` }; this.sendResponse(response); return; }
      const size = Math.max(1, Math.min(args.bytes ?? 8, 4096));
      response.body = { dataId: `mem:${phys ? 'p' : 'v'}:${addr}:${size}`, description: `${size} bytes at ${phys ? 'GPA ' : ''}0x${addr.toString(16)}`,
        accessTypes: ['read', 'write', 'readWrite'], canPersist: true };
      this.sendResponse(response);
    });
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    this.guard(response, () => {
      const e = this.need();
      const list = [];
      const results: DebugProtocol.Breakpoint[] = [];
      for (const b of args.breakpoints ?? []) {
        let cond: Expression | undefined;
        try { if (b.condition) cond = Expression.parse(b.condition); } catch (err) { results.push({ verified: false, message: `condition: ${exprErrorText(err)}` }); continue; }
        const reg = /^reg:(\w+)$/.exec(b.dataId);
        const mem = /^mem:([pv]):(-?\d+):(\d+)$/.exec(b.dataId);
        if (reg) list.push({ kind: 'register' as const, register: reg[1], access: 'write' as const, condition: cond, description: `${reg[1]} changes` });
        else if (mem) list.push({ kind: 'memory' as const, physical: mem[1] === 'p', address: Number(mem[2]), size: Number(mem[3]),
          access: (b.accessType ?? 'write') as 'read' | 'write' | 'readWrite', condition: cond,
          description: `${b.accessType ?? 'write'} of ${mem[3]} bytes at ${mem[1] === 'p' ? 'GPA ' : ''}0x${Number(mem[2]).toString(16)}` });
        else { results.push({ verified: false, message: `unknown dataId '${b.dataId}'` }); continue; }
        results.push({ verified: true });
      }
      const set = e.setDataBreakpoints(list);
      let k = 0;
      for (const r of results) if (r.verified) r.id = set[k++].id;
      response.body = { breakpoints: results };
      this.sendResponse(response);
    });
  }

  // ---------------------------------------------------------------- execution

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    this.guard(response, () => {
      this.need().resume();
      response.body = { allThreadsContinued: true };
      this.sendResponse(response);
    });
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.guard(response, () => { this.need().pause(); this.sendResponse(response); });
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.guard(response, () => {
      const e = this.need(); const v = this.vcpuOf(args.threadId);
      this.sendResponse(response);
      e.stepOver(v, args.granularity === 'instruction' ? 'instruction' : this.lineGranularity(v));
    });
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.guard(response, () => {
      const e = this.need(); const v = this.vcpuOf(args.threadId);
      this.sendResponse(response);
      e.step(v, args.granularity === 'instruction' ? 'instruction' : this.lineGranularity(v));
    });
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments): void {
    this.guard(response, () => { const e = this.need(); const v = this.vcpuOf(args.threadId); this.sendResponse(response); e.stepOut(v); });
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    this.guard(response, () => { const e = this.need(); const v = this.vcpuOf(args.threadId); this.sendResponse(response); e.stepBack(v); });
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse, args: DebugProtocol.ReverseContinueArguments): void {
    this.guard(response, () => { const e = this.need(); this.vcpuOf(args.threadId); this.sendResponse(response); e.reverseContinue(); });
  }

  /** Line stepping only where the image has a line map; instruction stepping elsewhere. */
  private lineGranularity(v: number): 'line' | 'instruction' {
    return this.need().views[v].sourceLine() ? 'line' : 'instruction';
  }

  private onStopped(e: StopEvent): void {
    this.resetHandles();
    this.endProgress();
    const ev = new StoppedEvent(e.reason, e.vcpu + 1, e.text ?? e.description) as DebugProtocol.StoppedEvent;
    ev.body.description = e.description;
    ev.body.allThreadsStopped = true;
    if (e.hitBreakpointIds?.length) ev.body.hitBreakpointIds = e.hitBreakpointIds;
    this.sendEvent(ev);
    this.sendEvent(new InvalidatedEvent(['variables']));
  }

  private reportProgress(n: number): void {
    if (!this.progressActive) {
      this.progressActive = true;
      this.progressId++;
      this.sendEvent(new ProgressStartEvent(`run${this.progressId}`, 'Running guest', `${n} instructions`));
    } else this.sendEvent(new ProgressUpdateEvent(`run${this.progressId}`, `${n.toLocaleString('en')} instructions`));
  }
  private endProgress(): void {
    if (this.progressActive) { this.progressActive = false; this.sendEvent(new ProgressEndEvent(`run${this.progressId}`)); }
  }

  // ---------------------------------------------------------------- threads, stack, variables

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    const e = this.engine;
    response.body = { threads: e ? e.machine.vcpus.map((v, i) => new Thread(i + 1, `vCPU ${v.vcpu_id}${v.isBsp() ? ' (BSP)' : ''}${nestedLevel(v) ? ` [${nestedLevel(v)}]` : ''}`)) : [] };
    this.sendResponse(response);
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    this.guard(response, () => {
      const e = this.need(); const vi = this.vcpuOf(args.threadId);
      const view = e.views[vi];
      const frames: DebugProtocol.StackFrame[] = [];
      const stop = e.lastStop;
      if (stop?.exit && stop.vcpu === vi && stop.exit.handlers?.length) {
        const f = new StackFrame(frameId(vi, 0), `KVM: ${stop.exit.handlers.join(' -> ')}`) as DebugProtocol.StackFrame;
        f.presentationHint = 'label';
        frames.push(f);
      }
      const rip = view.linearRip();
      const src = this.source();
      // A C guest: frames unwound from DWARF (inlined calls too), below the KVM handler chain.
      if (src.active(vi)) {
        for (const cf of src.frames(vi)) {
          const f = new StackFrame(frameId(vi, frames.length), cf.name, cf.file ? new Source(basename(cf.file), cf.file) : undefined,
            cf.line ? this.convertDebuggerLineToClient(cf.line) : 0, 1) as DebugProtocol.StackFrame;
          f.instructionPointerReference = '0x' + cf.pc.toString(16);
          if (!cf.file) f.presentationHint = 'subtle';
          frames.push(f);
        }
      } else frames.push(this.frameAt(vi, frames.length, rip, view.functionAt(rip) ?? `0x${rip.toString(16)}`));
      for (const sf of src.active(vi) ? [] : e.stacks[vi].innermostFirst()) {
        const at = sf.returnAddress;
        frames.push(this.frameAt(vi, frames.length, at, view.functionAt(at) ?? `0x${at.toString(16)}`, true));
      }
      const start = intArg('stackTrace', 'startFrame', args.startFrame, 0), levels = intArg('stackTrace', 'levels', args.levels, 0) || frames.length;
      response.body = { stackFrames: frames.slice(start, start + levels), totalFrames: frames.length };
      this.sendResponse(response);
    });
  }

  private frameAt(vi: number, index: number, addr: number, name: string, caller = false): DebugProtocol.StackFrame {
    const e = this.need();
    const l = e.image.lines.length ? e.views[vi].sourceLineAt(caller ? addr - 1 : addr) : undefined;
    const f = new StackFrame(frameId(vi, index), name, l ? new Source(basename(l.file), l.file) : undefined,
      l ? this.convertDebuggerLineToClient(l.line) : 0, 1) as DebugProtocol.StackFrame;
    f.instructionPointerReference = '0x' + addr.toString(16);
    if (!l) f.presentationHint = 'subtle';
    return f;
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    this.guard(response, () => {
      const e = this.need();
      const vi = Math.floor(intArg('scopes', 'frameId', args.frameId) / 1000);
      const v = e.views[vi];
      if (!v) throw new BadRequest(`scopes: unknown frameId ${args.frameId}`);
      const src = this.source();
      const scopes: [string, () => VarNode[], boolean][] = [
        ...src.scopes(vi, args.frameId % 1000 - this.labelFrames(vi)).map((s): [string, () => VarNode[], boolean] => [s.name, s.get, false]),
        ['Registers', () => v.registersScope(), false],
        ['Segments', () => v.segmentsScope(), true],
        ['Control & debug registers', () => v.controlScope(), true],
        ['MSRs', () => v.msrScope(), true],
        ['KVM register cache', () => v.registerCacheScope(), false],
        ['Current exit (kvm_run)', () => v.currentExitScope(), false],
        ['Pending events', () => v.pendingEventsScope(), true],
        ['Interrupt controllers & time', () => interruptControllerNodes(v.v), true],
        [v.v.ops.view.controlBlockLabel, () => v.controlBlockScope(), true],
        ...(nestedLevel(v.v) ? [['Nested (VMX)', () => nestedNodes(v.v), true] as [string, () => VarNode[], boolean]] : []),
        ['VM (capabilities, quirks)', () => v.vmScope(), true],
      ];
      response.body = { scopes: scopes.map(([name, get, expensive]) => new Scope(name, this.handle(get), expensive)) };
      this.sendResponse(response);
    });
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    this.guard(response, () => {
      const get = this.handles.get(intArg('variables', 'variablesReference', args.variablesReference));
      if (!get) throw new BadRequest(`variables: unknown variablesReference ${args.variablesReference}`);
      const nodes = get();
      this.nodesByRef.set(args.variablesReference, nodes);
      const start = intArg('variables', 'start', args.start, 0), count = intArg('variables', 'count', args.count, 0) || nodes.length;
      response.body = {
        variables: nodes.slice(start, start + count).map((n) => ({
          name: n.name, value: n.value, type: n.type,
          variablesReference: n.children ? this.handle(n.children) : 0,
          memoryReference: n.memoryReference,
          presentationHint: n.set ? undefined : { attributes: ['readOnly'] },
        })),
      };
      this.sendResponse(response);
    });
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    this.guard(response, () => {
      const nodes = this.nodesByRef.get(intArg('setVariable', 'variablesReference', args.variablesReference));
      if (!nodes) throw new BadRequest(`setVariable: unknown variablesReference ${args.variablesReference}`);
      strArg('setVariable', 'name', args.name);
      const n = nodes.find((x) => x.name === args.name);
      if (!n) throw new BadRequest(`setVariable: no variable '${args.name}' here`);
      if (!n.set) throw new BadRequest(`'${args.name}' is read-only here`);
      const value = n.set(strArg('setVariable', 'value', args.value));
      response.body = { value };
      this.sendResponse(response);
    });
  }

  // ---------------------------------------------------------------- memory and disassembly

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    this.guard(response, () => {
      const e = this.need();
      const ref = parseMemoryReference(args.memoryReference);
      if (!ref) throw new BadRequest(`readMemory: bad memoryReference '${args.memoryReference}'`);
      const count = intArg('readMemory', 'count', args.count);
      if (count < 0) throw new BadRequest(`readMemory: "count" must not be negative, got ${count}`);
      if (count > MAX_READ) throw new BadRequest(`readMemory: count ${count} exceeds the ${MAX_READ}-byte limit of one request`);
      const addr = addressArg('readMemory', ref.address, args.offset);
      const r = e.views[e.focus].readable(addr, count, ref.physical, ref.underlying);
      response.body = { address: '0x' + (addr + r.offset).toString(16), data: Buffer.from(r.bytes).toString('base64'), unreadableBytes: r.offset + r.unreadableTail };
      if (r.bytes.length === 0) response.body.data = undefined;
      this.sendResponse(response);
    });
  }

  protected override writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse, args: DebugProtocol.WriteMemoryArguments): void {
    this.guard(response, () => {
      const e = this.need();
      const ref = parseMemoryReference(args.memoryReference);
      if (!ref) throw new BadRequest(`writeMemory: bad memoryReference '${args.memoryReference}'`);
      const data = Buffer.from(strArg('writeMemory', 'data', args.data), 'base64');
      if (data.length > MAX_READ) throw new BadRequest('writeMemory: too much data');
      const addr = addressArg('writeMemory', ref.address, args.offset);
      let written = 0;
      // Through the focused vCPU's page tables now: a reverse step replaying this edit must not use
      // whichever vCPU has the focus then.
      const view = e.views[e.focus];
      e.edit(`write ${data.length} bytes at ${ref.physical ? 'GPA ' : ''}0x${addr.toString(16)}`, () => { written = view.writeMemory(addr, new Uint8Array(data), ref.physical); });
      response.body = { bytesWritten: written };
      this.sendResponse(response);
      this.sendEvent(new InvalidatedEvent(['variables']));
    });
  }

  protected override disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): void {
    this.guard(response, () => {
      const e = this.need();
      const a = parseAddress(args.memoryReference);
      if (a === undefined) throw new BadRequest(`disassemble: bad memoryReference '${args.memoryReference}'`);
      const count = intArg('disassemble', 'instructionCount', args.instructionCount);
      const insnOffset = intArg('disassemble', 'instructionOffset', args.instructionOffset, 0);
      if (count < 0 || count > MAX_DISASSEMBLE) throw new BadRequest(`disassemble: "instructionCount" must be between 0 and ${MAX_DISASSEMBLE}, got ${count}`);
      if (Math.abs(insnOffset) > MAX_DISASSEMBLE) throw new BadRequest(`disassemble: "instructionOffset" must be between -${MAX_DISASSEMBLE} and ${MAX_DISASSEMBLE}, got ${insnOffset}`);
      const view = e.views[e.focus];
      const lines = disassemble(view, e.image, addressArg('disassemble', a, args.offset), insnOffset, count, view.codeBits());
      response.body = {
        instructions: lines.map((l) => ({
          address: '0x' + l.address.toString(16), instructionBytes: l.bytes, instruction: l.text, symbol: l.symbol,
          location: l.file ? new Source(basename(l.file), l.file) : undefined,
          line: l.line !== undefined ? this.convertDebuggerLineToClient(l.line) : undefined,
          presentationHint: l.unreadable ? 'invalid' : undefined,
        })),
      };
      this.sendResponse(response);
    });
  }

  // ---------------------------------------------------------------- evaluate, completions, exceptions

  /**
   * Errors go to the Watch/hover/console line itself, never to a notification (no showUser), as in
   * C/C++ debugging: a watch that cannot be evaluated at this stop shows its message inline.
   */
  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    this.guard(response, () => {
      const e = this.need();
      const vi = args.frameId !== undefined ? Math.floor(intArg('evaluate', 'frameId', args.frameId) / 1000) : e.focus;
      if (!e.views[vi]) throw new BadRequest(`evaluate: unknown frameId ${args.frameId}`);
      const text = strArg('evaluate', 'expression', args.expression);
      if (args.context === 'repl' && isConsoleCommand(text)) {
        const out = runConsoleCommand(e, vi, text);
        response.body = { result: out.text, variablesReference: 0 };
        this.sendResponse(response);
        if (out.resumes) e.resume();
        if (out.invalidate) this.sendEvent(new InvalidatedEvent(['variables', 'stacks']));
        return;
      }
      // A C guest: C expressions over the frame's variables first (gdb's `print`), then the register/memory language.
      const src = this.source();
      let cError: unknown;
      if (src.c) {
        try {
          const r = src.evaluate(vi, args.frameId !== undefined ? (args.frameId % 1000) - this.labelFrames(vi) : 0, text);
          response.body = { result: r.value, type: r.type, variablesReference: r.node.children ? this.handle(r.node.children) : 0, memoryReference: r.node.memoryReference };
          this.sendResponse(response);
          return;
        } catch (err) { cError = err; }
      }
      try {
        const v = Expression.parse(text).evaluate(e.evalContext(vi));
        const signed = BigInt.asIntN(64, v);
        response.body = { result: `0x${v.toString(16)}${signed < 0n && signed > -0x10000n ? ` (${signed})` : v < 0x10000n ? ` (${v})` : ''}`,
          variablesReference: 0, memoryReference: '0x' + v.toString(16) };
        this.sendResponse(response);
      } catch (err) {
        const shown = cError ?? err;
        if (shown instanceof ExprError || cError !== undefined) { this.sendErrorResponse(response, { id: 2010, format: exprErrorText(shown) }); return; }
        throw err;
      }
    }, false);
  }

  protected override completionsRequest(response: DebugProtocol.CompletionsResponse, args: DebugProtocol.CompletionsArguments): void {
    this.guard(response, () => {
      const e = this.need();
      const text = strArg('completions', 'text', args.text);
      const upto = text.slice(0, Math.max(0, intArg('completions', 'column', args.column, text.length + 1) - 1));
      const word = /[\w.$@]*$/.exec(upto)?.[0] ?? '';
      const lead = upto.length - upto.trimStart().length;
      response.body = { targets: [
        ...commandCompletions(upto).map((label) => ({ label, start: lead, length: upto.length - lead })),
        ...consoleCompletions(e, upto, word).map((label) => ({ label, start: upto.length - word.length, length: word.length })),
      ].slice(0, 200) };
      this.sendResponse(response);
    });
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse, args: DebugProtocol.ExceptionInfoArguments): void {
    this.guard(response, () => {
      const e = this.need();
      const s = e.lastStop;
      this.vcpuOf(args.threadId);
      const ex = s?.exit;
      response.body = {
        exceptionId: ex ? ex.name : s?.reason ?? 'none',
        description: s?.description ?? 'not stopped on an exit',
        breakMode: 'always',
        details: ex ? {
          message: ex.description,
          typeName: ex.layer === 'hardware' ? 'hardware VM exit' : ex.layer === 'userspace' ? 'exit to userspace (kvm_run)' : ex.layer === 'regcache' ? 'register-cache event' : ex.layer === 'interrupt' ? 'interrupt event' : 'KVM model event',
          stackTrace: (ex.handlers ?? []).join('\n'),
          evaluateName: Object.keys(ex.fields).join(', '),
        } : undefined,
      };
      this.sendResponse(response);
    });
  }

  // ---------------------------------------------------------------- custom requests (extension views)

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    this.guard(response, () => {
      const e = this.need();
      const a = (args ?? {}) as Record<string, unknown>;
      switch (command) {
        case 'kvmGuest/exitLog': {
          const since = intArg('exitLog', 'sinceIndex', a.sinceIndex, 0);
          // The source line is looked up at pc (CS.base + RIP: a real-mode exit's IP alone is not an address).
          response.body = { exits: e.exitLog(since).map((r) => ({ index: r.index, vcpu: r.vcpu, reason: r.reason, rip: r.rip, pc: r.pc, layer: r.layer,
            details: exitFieldsText(r, EXIT_LOG_KEYS),
            source: (() => { const l = e.views[r.vcpu]?.sourceLineAt(Number(r.pc ?? r.rip)); return l ? { path: l.file, line: l.line } : undefined; })() })) };
          break;
        }
        case 'kvmGuest/registerCache': {
          const vi = intArg('registerCache', 'vcpu', a.vcpu, e.focus);
          const v = e.views[vi];
          if (!v) throw new BadRequest(`registerCache: unknown vcpu ${String(a.vcpu)}`);
          const rc = v.v.registerCache();
          response.body = { vcpu: vi, avail: rc.avail >>> 0, dirty: rc.dirty >>> 0, vmreads: rc.reads, vmwrites: rc.writes, regs: v.registerCacheEntries() };
          break;
        }
        case 'kvmGuest/statistics': response.body = e.statistics(); break;
        case 'kvmGuest/inject': {
          const kind = a.kind;
          if (kind !== 'init' && kind !== 'nmi' && kind !== 'triple-fault') throw new BadRequest(`inject: kind must be init, nmi or triple-fault`);
          const vi = intArg('inject', 'vcpu', a.vcpu, e.focus);
          if (vi < 0 || vi >= e.machine.vcpus.length) throw new BadRequest(`inject: "vcpu" ${vi} does not exist (the VM has ${e.machine.vcpus.length} vCPU${e.machine.vcpus.length === 1 ? '' : 's'}: 0-${e.machine.vcpus.length - 1})`);
          response.body = { result: e.inject(kind, vi) };
          break;
        }
        case 'kvmGuest/reset': e.resetVm(); response.body = { result: 'VM RESET' }; break;
        case 'kvmGuest/uartInput': {
          // Bytes typed on COM1's line: "text" (each char a byte, 0-255: what a terminal's onDidInput gives after encoding) or "bytes".
          let bytes: Uint8Array;
          if (typeof a.text === 'string') {
            if (/[^\x00-\xff]/.test(a.text)) bytes = new TextEncoder().encode(a.text);
            else bytes = Uint8Array.from(a.text, (c) => c.charCodeAt(0));
          } else if (Array.isArray(a.bytes) && a.bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) bytes = Uint8Array.from(a.bytes as number[]);
          else throw new BadRequest('uartInput: expected "text" (a string) or "bytes" (an array of 0-255)');
          if (bytes.length > 1 << 20) throw new BadRequest(`uartInput: ${bytes.length} bytes at once; at most 1 MiB`);
          response.body = { accepted: e.serialInput(bytes) };
          break;
        }
        default: throw new BadRequest(`unknown request '${command}'`);
      }
      this.sendResponse(response);
    });
  }

  // ---------------------------------------------------------------- helpers

  /** The C (DWARF) view of the running engine. */
  private source(): SourceLevel {
    const e = this.need();
    if (!this.sourceLevel || this.sourceLevel.engine !== e) this.sourceLevel = new SourceLevel(e);
    return this.sourceLevel;
  }

  /** 1 when the stack trace of `vi` starts with the KVM handler-chain label frame. */
  private labelFrames(vi: number): number {
    const stop = this.need().lastStop;
    return stop?.exit && stop.vcpu === vi && stop.exit.handlers?.length ? 1 : 0;
  }

  private need(): DebugEngine {
    if (!this.engine) throw new BadRequest('no guest is running (launch first)');
    return this.engine;
  }

  private vcpuOf(threadId: number | undefined): number {
    const e = this.need();
    if (threadId === undefined) return e.focus;
    const i = threadId - 1;
    if (typeof threadId !== 'number' || !Number.isInteger(threadId) || i < 0 || i >= e.machine.vcpus.length) throw new BadRequest(`unknown thread ${threadId}`);
    return i;
  }

  private handle(get: () => VarNode[]): number {
    const h = this.nextHandle++;
    this.handles.set(h, get);
    return h;
  }
  private resetHandles(): void { this.handles.clear(); this.nodesByRef.clear(); }

  private dapBreakpoint(b: CodeBreakpoint): DebugProtocol.Breakpoint {
    const bp = new Breakpoint(b.verified, b.line !== undefined ? this.convertDebuggerLineToClient(b.line) : undefined) as DebugProtocol.Breakpoint;
    bp.id = b.id;
    if (b.message) bp.message = b.message;
    if (b.verified) bp.instructionReference = '0x' + b.address.toString(16);
    if (b.source) bp.source = new Source(basename(b.source), b.source);
    return bp;
  }

  /**
   * Run a request handler; bad requests and unexpected errors become error responses, never crashes.
   * `showUser`: VS Code also shows the message as a notification (not for evaluate: shown inline).
   */
  private guard(response: DebugProtocol.Response, f: () => void, showUser = true): void {
    try { f(); }
    catch (e) {
      const msg = e instanceof BadRequest ? e.message : `internal error: ${(e as Error).message}`;
      this.sendErrorResponse(response, { id: e instanceof BadRequest ? 2003 : 2999, format: msg, showUser });
    }
  }
}

function frameId(vcpu: number, index: number): number { return vcpu * 1000 + index; }

function samePath(a: string, b: string): boolean {
  return a.replace(/\\/g, '/').toLowerCase() === b.replace(/\\/g, '/').toLowerCase();
}

/** "0x1234", "1234", "gpa:0x1000" (guest-physical), "under:0x1000" (guest-physical RAM beneath an overlay page). */
export function parseMemoryReference(ref: string | undefined): { address: number; physical: boolean; underlying?: boolean } | undefined {
  if (typeof ref !== 'string') return undefined;
  const m = /^(gpa:|phys:|under:)?(0x[0-9a-f]+|-?\d+)$/i.exec(ref.trim());
  if (!m) return undefined;
  if (m[1] && m[1].toLowerCase() === 'under:') {
    const a = Number(BigInt.asIntN(64, BigInt(m[2])));
    return Number.isSafeInteger(a) ? { address: a, physical: true, underlying: true } : undefined;
  }
  let v = BigInt(m[2].startsWith('-') ? m[2] : m[2]);
  v = BigInt.asIntN(64, v);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) return undefined;
  return { address: n, physical: !!m[1] };
}
function parseAddress(ref: string | undefined): number | undefined {
  const r = parseMemoryReference(ref);
  return r && !r.physical ? r.address : undefined;
}

/** A request argument that must be an integer (or absent: `dflt`); the error names the request and the argument. */
export function intArg(request: string, name: string, v: unknown, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new BadRequest(`${request}: "${name}" must be an integer, got ${argText(v)}`);
  return v;
}
/** A request argument that must be a string. */
export function strArg(request: string, name: string, v: unknown, dflt?: string): string {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string') throw new BadRequest(`${request}: "${name}" must be a string, got ${argText(v)}`);
  return v;
}
function argText(v: unknown): string {
  if (v === undefined) return 'nothing';
  const t = JSON.stringify(v);
  return t === undefined ? typeof v : t.length > 40 ? t.slice(0, 40) + '...' : t;
}
/** memoryReference + offset as an address: never negative, never past 2^64 - 1, never an unsafe integer. */
function addressArg(request: string, base: number, offsetArg: unknown): number {
  const offset = intArg(request, 'offset', offsetArg, 0);
  const a = base + offset;
  if (!Number.isSafeInteger(a) || a < 0) throw new BadRequest(`${request}: memoryReference 0x${base < 0 ? '-' + (-base).toString(16) : base.toString(16)} + offset ${offset} is not an address (below 0 or beyond 2^53)`);
  return a;
}
