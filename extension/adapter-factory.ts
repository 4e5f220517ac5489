// How VS Code reaches the debug adapter, by the setting kvmGuest.adapterMode:
//   inline  (default) the adapter runs in the extension host (DebugAdapterInlineImplementation);
//   process a separate Node.js process speaking DAP over stdio: kvmGuest.adapterCommand
//           (e.g. ["kvm-guest", "dap"]) or the bundled dist/adapter.js;
//   server  a loopback TCP server: kvmGuest.adapterServerPort (a `kvm-guest dap --port N`
//           started by hand) or, with port 0, one the extension starts on a free port.
import * as vscode from 'vscode';
import { AdapterMode, SETTINGS_SECTION } from './constants';
import { adapterBundlePath, loadAdapter } from './adapter-loader';
import { startInHostServer, type InHostServer } from './adapter-server';

export function adapterMode(): AdapterMode {
  const mode = vscode.workspace.getConfiguration(SETTINGS_SECTION).get<string>('adapterMode', 'inline');
  return mode === 'process' || mode === 'server' ? mode : 'inline';
}

export class KvmGuestAdapterFactory implements vscode.DebugAdapterDescriptorFactory, vscode.Disposable {
  private server: Promise<InHostServer> | undefined;

  createDebugAdapterDescriptor(session: vscode.DebugSession): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const settings = vscode.workspace.getConfiguration(SETTINGS_SECTION, session.workspaceFolder);
    switch (adapterMode()) {
      case 'process': return this.processDescriptor(settings.get<string[]>('adapterCommand', []), session);
      case 'server': return this.serverDescriptor(settings.get<number>('adapterServerPort', 0));
      default: return this.inlineDescriptor();
    }
  }

  private inlineDescriptor(): vscode.DebugAdapterDescriptor {
    const loaded = loadAdapter();
    if (!loaded.ok) throw new Error(loaded.message);
    return new vscode.DebugAdapterInlineImplementation(new loaded.module.KvmGuestSession());
  }

  private processDescriptor(command: string[], session: vscode.DebugSession): vscode.DebugAdapterDescriptor {
    const cwd = session.workspaceFolder?.uri.fsPath;
    if (command.length > 0) {
      return new vscode.DebugAdapterExecutable(command[0], command.slice(1), cwd ? { cwd } : {});
    }
    const loaded = loadAdapter();
    if (!loaded.ok) throw new Error(loaded.message);
    // The Node.js runtime VS Code itself runs on (Electron's, as node): no separate install needed.
    return new vscode.DebugAdapterExecutable(process.execPath, [adapterBundlePath()], { env: { ELECTRON_RUN_AS_NODE: '1' }, ...(cwd ? { cwd } : {}) });
  }

  private async serverDescriptor(port: number): Promise<vscode.DebugAdapterDescriptor> {
    if (port > 0) return new vscode.DebugAdapterServer(port, '127.0.0.1');
    const loaded = loadAdapter();
    if (!loaded.ok) throw new Error(loaded.message);
    this.server ??= startInHostServer(loaded.module);
    return new vscode.DebugAdapterServer((await this.server).port, '127.0.0.1');
  }

  dispose(): void {
    void this.server?.then((s) => s.close(), () => undefined);
    this.server = undefined;
  }
}
