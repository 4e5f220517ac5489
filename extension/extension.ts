// KVM Guest Debugger: the VS Code side. Registers the kvm-guest debugger (configuration provider,
// adapter factory), the guest assembly diagnostics, the VM Exits and Register Cache views and
// the VMM commands. Everything that debugs lives in the adapter (adapter/), loaded through
// adapter-loader.ts.
import * as vscode from 'vscode';
import { COMMANDS, DEBUG_TYPE, VIEWS } from './constants';
import { KvmGuestConfigurationProvider, KvmGuestDynamicConfigurationProvider, activeFileUri, configurationFor, programForFile } from './configuration';
import { KvmGuestAdapterFactory } from './adapter-factory';
import { AssemblerDiagnostics } from './diagnostics';
import { ExitsViewProvider } from './views/exits-view';
import { RegCacheViewProvider } from './views/regcache-view';
import { showStatistics } from './views/statistics-panel';
import { evaluateInRepl, VMM_COMMANDS } from './commands';

export function activate(context: vscode.ExtensionContext): void {
  const subs = context.subscriptions;

  subs.push(vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new KvmGuestConfigurationProvider()));
  subs.push(vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new KvmGuestDynamicConfigurationProvider(), vscode.DebugConfigurationProviderTriggerKind.Dynamic));
  const factory = new KvmGuestAdapterFactory();
  subs.push(vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, factory), factory);

  subs.push(new AssemblerDiagnostics());

  const exits = new ExitsViewProvider();
  const regCache = new RegCacheViewProvider();
  subs.push(vscode.window.registerTreeDataProvider(VIEWS.exits, exits));
  subs.push(vscode.window.registerTreeDataProvider(VIEWS.regCache, regCache));
  const refreshViews = () => Promise.all([exits.refresh(), regCache.refresh()]).then(() => undefined);
  // Refresh the views whenever a kvm-guest session stops, and when sessions come and go.
  subs.push(vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
    createDebugAdapterTracker: () => ({
      onDidSendMessage: (m: { type?: string; event?: string }) => {
        if (m?.type === 'event' && m.event === 'stopped') void refreshViews();
      },
    }),
  }));
  subs.push(vscode.debug.onDidChangeActiveDebugSession(() => void refreshViews()));
  subs.push(vscode.debug.onDidTerminateDebugSession(() => void refreshViews()));

  subs.push(vscode.commands.registerCommand(COMMANDS.refreshViews, refreshViews));
  subs.push(vscode.commands.registerCommand(COMMANDS.showStatistics, showStatistics));
  subs.push(vscode.commands.registerCommand(COMMANDS.toggleExitFilters, async () => {
    const reasons = exits.reasons();
    if (reasons.length === 0) {
      void vscode.window.showInformationMessage('KVM Guest: no VM exits to filter yet.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      reasons.map((r) => ({ label: r, picked: !exits.hidden.has(r) })),
      { canPickMany: true, title: 'VM exit reasons to show' },
    );
    if (picked) exits.setHidden(reasons.filter((r) => !picked.some((p) => p.label === r)));
  }));
  for (const [id, command] of Object.entries(VMM_COMMANDS)) {
    subs.push(vscode.commands.registerCommand(id, async () => {
      const result = await evaluateInRepl(command);
      if (result !== undefined) await refreshViews();
    }));
  }
  subs.push(vscode.commands.registerCommand(COMMANDS.debugFile, async (uri?: vscode.Uri) => {
    const target = uri instanceof vscode.Uri ? { uri, languageId: undefined } : activeFileUri();
    if (!target) {
      void vscode.window.showInformationMessage('KVM Guest: open a guest file (.asm, .bin or ELF) to debug it.');
      return;
    }
    const found = programForFile(target.uri.fsPath, target.languageId);
    if ('reason' in found) {
      void vscode.window.showInformationMessage(`KVM Guest: ${found.reason}`);
      return;
    }
    await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(target.uri), configurationFor(found.program));
  }));
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
