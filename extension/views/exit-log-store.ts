// The VM Exits view's data, without VS Code (unit-tested): the exit log of one session, fetched
// incrementally, kept after the session ends (its last run stays visible, as a C debugger's output
// does) until another session starts.
import type { ExitLogEntry } from '../protocol';

/** KVM's name: exits to userspace as KVM_EXIT_*, hardware exits by their vendor name (EXIT_REASON_*, SVM_EXIT_*). */
export function exitDisplayName(e: Pick<ExitLogEntry, 'reason' | 'layer'>): string {
  return e.layer === 'userspace' && !e.reason.startsWith('KVM_EXIT_') ? `KVM_EXIT_${e.reason}` : e.reason;
}

/** Exits kept (and shown) per session: the newest. */
export const MAX_KEPT = 5000;

export class ExitLogStore {
  exits: ExitLogEntry[] = [];
  /** Exits dropped from `exits` (beyond MAX_KEPT). */
  dropped = 0;
  /** The sinceIndex of the next fetch. */
  next = 0;
  sessionId: string | undefined;
  /** The session ended: what is held is its last run. */
  ended = false;

  /** A fetch for `sessionId` is about to run: a different session starts over, the same one goes on. */
  follow(sessionId: string): void {
    if (sessionId === this.sessionId) return;
    this.clear();
    this.sessionId = sessionId;
  }

  /** The session ended: keep its log. */
  end(): void {
    if (this.sessionId !== undefined) this.ended = true;
  }

  /** RESET: the adapter's exit log starts over. */
  clear(): void {
    this.exits = [];
    this.dropped = 0;
    this.next = 0;
    this.ended = false;
  }

  /** Adds the exits an exitLog answer returned (those already held are ignored). */
  add(fresh: readonly ExitLogEntry[]): void {
    const newer = fresh.filter((e) => e.index >= this.next);
    if (!newer.length) return;
    this.exits.push(...newer);
    this.next = newer[newer.length - 1].index + 1;
    if (this.exits.length > MAX_KEPT) {
      this.dropped += this.exits.length - MAX_KEPT;
      this.exits.splice(0, this.exits.length - MAX_KEPT);
    }
  }

  get total(): number { return this.exits.length + this.dropped; }

  /** Every reason seen, as shown. */
  reasons(): string[] {
    return [...new Set(this.exits.map(exitDisplayName))].sort();
  }
}
