// Watches the DAP traffic of kvm-guest sessions (a DebugAdapterTracker: the extension only observes,
// the adapter stays the one source of truth) to know, per session: whether the guest is running or
// stopped, which exit filters the adapter offers (initialize response) and which are enabled with
// which conditions (the last setExceptionBreakpoints), and when the exit log starts over (RESET).
import * as vscode from 'vscode';
import { DEBUG_TYPE } from './constants';
import type { ExceptionFilterOption, ExitFilterInfo } from './exit-filter-state';

export type RunState = 'starting' | 'running' | 'stopped' | 'ended';

export interface SessionInfo {
  state: RunState;
  /** exceptionBreakpointFilters of the initialize response. */
  filters: ExitFilterInfo[];
  /** The exit filters the adapter was last told (setExceptionBreakpoints), by VS Code or by us. */
  enabled: ExceptionFilterOption[];
}

type Message = { type?: string; command?: string; event?: string; success?: boolean; arguments?: Record<string, unknown>; body?: Record<string, unknown> };

/** Requests after which the guest runs. */
const RUNNING_REQUESTS = new Set(['continue', 'next', 'stepIn', 'stepOut', 'stepBack', 'reverseContinue', 'goto']);

export class SessionTracker implements vscode.Disposable {
  private readonly infos = new Map<string, SessionInfo>();
  private readonly stoppedEmitter = new vscode.EventEmitter<vscode.DebugSession>();
  private readonly stateEmitter = new vscode.EventEmitter<vscode.DebugSession>();
  private readonly resetEmitter = new vscode.EventEmitter<vscode.DebugSession>();
  /** A kvm-guest session stopped (breakpoint, exit filter, step, pause). */
  readonly onDidStop = this.stoppedEmitter.event;
  /** Its run state changed (running, stopped, ended). */
  readonly onDidChangeState = this.stateEmitter.event;
  /** Its VM was RESET: the exit log and statistics start over. */
  readonly onDidReset = this.resetEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor() {
    this.subscriptions.push(vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
      createDebugAdapterTracker: (session) => {
        this.infos.set(session.id, { state: 'starting', filters: [], enabled: [] });
        return {
          onWillReceiveMessage: (m: Message) => this.fromClient(session, m),
          onDidSendMessage: (m: Message) => this.fromAdapter(session, m),
          onWillStopSession: () => this.setState(session, 'ended'),
          onExit: () => this.setState(session, 'ended'),
        };
      },
    }));
    this.subscriptions.push(vscode.debug.onDidTerminateDebugSession((s) => {
      this.setState(s, 'ended');
      this.infos.delete(s.id);
    }));
  }

  info(session: vscode.DebugSession | undefined): SessionInfo | undefined {
    return session ? this.infos.get(session.id) : undefined;
  }

  /** Records a setExceptionBreakpoints the extension itself sent. */
  noteEnabled(session: vscode.DebugSession, enabled: ExceptionFilterOption[]): void {
    const info = this.infos.get(session.id);
    if (info) info.enabled = enabled;
  }

  private fromClient(session: vscode.DebugSession, m: Message): void {
    if (m.type !== 'request') return;
    const info = this.infos.get(session.id);
    if (!info) return;
    if (m.command === 'setExceptionBreakpoints') {
      const a = m.arguments ?? {};
      const ids = Array.isArray(a.filters) ? (a.filters as string[]) : [];
      const opts = Array.isArray(a.filterOptions) ? (a.filterOptions as ExceptionFilterOption[]) : [];
      info.enabled = [...ids.map((filterId) => ({ filterId })), ...opts.map((o) => ({ filterId: o.filterId, condition: o.condition }))];
    } else if (m.command && RUNNING_REQUESTS.has(m.command)) {
      this.setState(session, 'running');
    } else if (m.command === 'configurationDone') {
      // The guest runs unless it stops on entry; a stopped event follows in that case.
      if (info.state === 'starting') this.setState(session, 'running');
    } else if (m.command === 'restart' || m.command === 'kvmGuest/reset' || (m.command === 'evaluate' && m.arguments?.context === 'repl' && String(m.arguments?.expression ?? '').trim() === 'reset')) {
      this.resetEmitter.fire(session);
    }
  }

  private fromAdapter(session: vscode.DebugSession, m: Message): void {
    const info = this.infos.get(session.id);
    if (!info) return;
    if (m.type === 'response' && m.command === 'initialize' && m.success) {
      const filters = m.body?.exceptionBreakpointFilters;
      info.filters = Array.isArray(filters) ? (filters as ExitFilterInfo[]) : [];
    } else if (m.type === 'event') {
      if (m.event === 'stopped') {
        this.setState(session, 'stopped');
        this.stoppedEmitter.fire(session);
      } else if (m.event === 'continued') this.setState(session, 'running');
      else if (m.event === 'terminated' || m.event === 'exited') this.setState(session, 'ended');
    }
  }

  private setState(session: vscode.DebugSession, state: RunState): void {
    const info = this.infos.get(session.id);
    if (!info || info.state === state) return;
    info.state = state;
    this.stateEmitter.fire(session);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.stoppedEmitter.dispose();
    this.stateEmitter.dispose();
    this.resetEmitter.dispose();
  }
}
