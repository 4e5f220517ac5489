// KVM Guest Debugger: the VS Code side. Registers the kvm-guest debugger (configuration providers,
// adapter factory), the guest assembly diagnostics, the VM Exits and Register Cache views, the exit
// statistics panel, the memory view and the VMM commands. Everything that debugs lives in the adapter (adapter/),
// loaded through adapter-loader.ts.
import * as vscode from 'vscode';
import { COMMANDS, DEBUG_TYPE, VIEWS } from './constants';
import { KvmGuestConfigurationProvider, KvmGuestDynamicConfigurationProvider, activeFileUri, configurationFor, programForFile } from './configuration';
import { KvmGuestAdapterFactory } from './adapter-factory';
import { AssemblerDiagnostics } from './diagnostics';
import { SessionTracker } from './session-tracker';
import { ExitsViewProvider } from './views/exits-view';
import { RegCacheViewProvider } from './views/regcache-view';
import { StatisticsPanel } from './views/statistics-panel';
import { MemoryPanel } from './views/memory-panel';
import { INJECT_COMMANDS, toggleExitFilters, vmmAction } from './commands';

export function activate(context: vscode.ExtensionContext): void {
  const subs = context.subscriptions;

  const diagnostics = new AssemblerDiagnostics();
  subs.push(diagnostics);
  subs.push(vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new KvmGuestConfigurationProvider((p) => diagnostics.checkProgram(p))));
  subs.push(vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new KvmGuestDynamicConfigurationProvider(), vscode.DebugConfigurationProviderTriggerKind.Dynamic));
  const factory = new KvmGuestAdapterFactory();
  subs.push(vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, factory), factory);

  const tracker = new SessionTracker();
  const exits = new ExitsViewProvider(tracker);
  const regCache = new RegCacheViewProvider(tracker);
  const statistics = new StatisticsPanel(tracker);
  const memory = new MemoryPanel(tracker);
  subs.push(tracker, exits, regCache, statistics, memory);
  const exitsView = vscode.window.createTreeView(VIEWS.exits, { treeDataProvider: exits });
  const regCacheView = vscode.window.createTreeView(VIEWS.regCache, { treeDataProvider: regCache });
  exits.attach(exitsView);
  regCache.attach(regCacheView);
  subs.push(exitsView, regCacheView);
  const refreshViews = () => Promise.all([exits.refresh(), regCache.refresh()]).then(() => undefined);
  subs.push(vscode.debug.onDidTerminateDebugSession(() => void refreshViews()));

  subs.push(vscode.commands.registerCommand(COMMANDS.refreshViews, refreshViews));
  subs.push(vscode.commands.registerCommand(COMMANDS.showStatistics, () => statistics.show()));
  subs.push(vscode.commands.registerCommand(COMMANDS.showMemory, (arg?: unknown) => memory.show(arg)));
  subs.push(vscode.commands.registerCommand(COMMANDS.toggleExitFilters, () => toggleExitFilters(tracker)));
  subs.push(vscode.commands.registerCommand(COMMANDS.filterExitsView, async () => {
    const reasons = exits.reasons();
    if (reasons.length === 0) {
      void vscode.window.showInformationMessage('KVM Guest: no VM exits to filter yet.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      reasons.map((r) => ({ label: r, picked: !exits.hidden.has(r) })),
      { canPickMany: true, title: 'VM Exits view: reasons to show' },
    );
    if (picked) exits.setHidden(reasons.filter((r) => !picked.some((p) => p.label === r)));
  }));
  for (const [id, kind] of Object.entries(INJECT_COMMANDS)) {
    subs.push(vscode.commands.registerCommand(id, async () => { if (await vmmAction(kind)) await refreshViews(); }));
  }
  subs.push(vscode.commands.registerCommand(COMMANDS.resetVm, async () => { if (await vmmAction('reset')) await refreshViews(); }));
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
