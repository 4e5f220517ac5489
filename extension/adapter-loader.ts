// The one place the extension reaches the debug adapter. The adapter (adapter/session.ts,
// class KvmGuestSession, a @vscode/debugadapter LoggingDebugSession) is bundled on its own into
// dist/adapter.js by scripts/build.mjs, and loaded here at run time: the extension builds and
// activates before the adapter exists, and says so instead of pretending to debug.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as vscode from 'vscode';

/** What the extension needs of a KvmGuestSession (DebugSession implements vscode.DebugAdapter). */
export interface AdapterSession extends vscode.DebugAdapter {
  setRunAsServer?(runAsServer: boolean): void;
  start?(inStream: NodeJS.ReadableStream, outStream: NodeJS.WritableStream): void;
}

export interface AdapterModule {
  KvmGuestSession: new () => AdapterSession;
}

export const ADAPTER_NOT_BUILT = 'adapter not built yet';

/** Path of the bundled adapter beside the extension bundle (dist/). */
export function adapterBundlePath(distDir: string = __dirname): string {
  return join(distDir, 'adapter.js');
}

export type AdapterLoad = { ok: true; module: AdapterModule; path: string } | { ok: false; message: string };

/** Successful loads by path (a failed load is retried: the adapter may be built meanwhile). */
const loaded = new Map<string, AdapterLoad>();

/** Loads dist/adapter.js once; never throws. */
export function loadAdapter(distDir: string = __dirname): AdapterLoad {
  const path = adapterBundlePath(distDir);
  const known = loaded.get(path);
  if (known) return known;
  if (!existsSync(path)) {
    return { ok: false, message: `KVM Guest: ${ADAPTER_NOT_BUILT} (${path} is missing; the debug adapter, adapter/session.ts, has not been built into this extension).` };
  }
  try {
    // A computed path, so that the bundler leaves this require to run time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path) as Partial<AdapterModule>;
    if (typeof mod.KvmGuestSession !== 'function') {
      return { ok: false, message: `KVM Guest: ${ADAPTER_NOT_BUILT} (${path} does not export KvmGuestSession).` };
    }
    const ok: AdapterLoad = { ok: true, module: mod as AdapterModule, path };
    loaded.set(path, ok);
    return ok;
  } catch (e) {
    return { ok: false, message: `KVM Guest: the debug adapter failed to load from ${path}: ${e instanceof Error ? e.message : String(e)}` };
  }
}
