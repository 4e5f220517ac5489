// The active kvm-guest debug session, and a way to ask it things that fails softly.
import * as vscode from 'vscode';
import { DEBUG_TYPE } from '../constants';

export function activeGuestSession(): vscode.DebugSession | undefined {
  const s = vscode.debug.activeDebugSession;
  return s && s.type === DEBUG_TYPE ? s : undefined;
}

export type Answer<T> = { ok: true; body: T } | { ok: false; message: string };

/** Sends a custom request; an error (e.g. the adapter lacks the request) becomes a message. */
export async function ask<T>(session: vscode.DebugSession, command: string, args?: unknown): Promise<Answer<T>> {
  try {
    return { ok: true, body: (await session.customRequest(command, args)) as T };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}
