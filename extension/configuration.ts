// Launch configurations: F5 with no launch.json debugs the guest in the active editor, and the
// examples/*.asm of the workspace appear as dynamic configurations in the Run and Debug view.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { DEBUG_TYPE } from './constants';
import { guestFileKind, programForFile } from './guest-files';

export { programForFile };

/** The file shown in the active editor or tab (binary files have a tab but no text editor). */
export function activeFileUri(): { uri: vscode.Uri; languageId?: string } | undefined {
  const editor = vscode.window.activeTextEditor;
  if (editor && editor.document.uri.scheme === 'file') return { uri: editor.document.uri, languageId: editor.document.languageId };
  const input = vscode.window.tabGroups?.activeTabGroup?.activeTab?.input;
  if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom) {
    if (input.uri.scheme === 'file') return { uri: input.uri };
  }
  return undefined;
}

export function configurationFor(program: string, name?: string): vscode.DebugConfiguration {
  return {
    type: DEBUG_TYPE,
    request: 'launch',
    name: name ?? `KVM Guest: ${basename(program)}`,
    program,
    stopOnEntry: true,
    exitLog: 'all',
  };
}

export class KvmGuestConfigurationProvider implements vscode.DebugConfigurationProvider {
  /** `checkProgram` publishes a guest source's assembler diagnostics (Problems view) at launch. */
  constructor(private readonly checkProgram?: (path: string) => Promise<unknown>) {}

  /** F5 without launch.json: VS Code passes an empty configuration; fill it from the active file. */
  resolveDebugConfiguration(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.ProviderResult<vscode.DebugConfiguration> {
    if (!config.type && !config.request && !config.name) {
      const active = activeFileUri();
      if (!active) {
        return vscode.window.showInformationMessage('KVM Guest: open a guest file (.asm, .bin or ELF) to debug it, or add a launch configuration.').then(() => undefined);
      }
      const found = programForFile(active.uri.fsPath, active.languageId);
      if ('reason' in found) return vscode.window.showInformationMessage(`KVM Guest: ${found.reason}`).then(() => undefined);
      return configurationFor(found.program);
    }
    if (!config.type) config.type = DEBUG_TYPE;
    if (!config.request) config.request = 'launch';
    if (!config.name) config.name = 'KVM Guest';
    // The VM Exits view shows hardware exits too (its filter hides reasons): log every exit unless
    // the configuration says otherwise.
    if (config.exitLog === undefined) config.exitLog = 'all';
    if (config.program === undefined || config.program === '') {
      const active = activeFileUri();
      if (active) {
        const found = programForFile(active.uri.fsPath, active.languageId);
        if ('program' in found) config.program = found.program;
      }
    }
    return config;
  }

  /** After ${file} and friends are substituted: check that the program exists before the adapter starts. */
  resolveDebugConfigurationWithSubstitutedVariables(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.ProviderResult<vscode.DebugConfiguration> {
    if (typeof config.program !== 'string' || config.program === '') {
      return vscode.window.showErrorMessage('KVM Guest: the launch configuration needs "program": the guest image to run.').then(() => undefined);
    }
    const program = isAbsolute(config.program) || !folder ? config.program : join(folder.uri.fsPath, config.program);
    if (!existsSync(program)) {
      return vscode.window.showErrorMessage(`KVM Guest: program "${config.program}" does not exist.`).then(() => undefined);
    }
    // Assembler errors go to the Problems view; the launch itself then fails naming file:line.
    if (this.checkProgram && (config.format === 'asm' || ((config.format ?? 'auto') === 'auto' && guestFileKind(program) === 'asm'))) {
      return this.checkProgram(program).then(() => config, () => config);
    }
    return config;
  }
}

/** Dynamic configurations (the Run and Debug view's "KVM Guest..." list): one per examples/*.asm. */
export class KvmGuestDynamicConfigurationProvider implements vscode.DebugConfigurationProvider {
  async provideDebugConfigurations(folder: vscode.WorkspaceFolder | undefined, token?: vscode.CancellationToken): Promise<vscode.DebugConfiguration[]> {
    // VS Code asks once per workspace folder and once without one: answer only once.
    if (!folder && vscode.workspace.workspaceFolders?.length) return [];
    const include = folder ? new vscode.RelativePattern(folder, 'examples/*.{asm,nasm}') : 'examples/*.{asm,nasm}';
    const files = await vscode.workspace.findFiles(include, undefined, 200, token);
    const configs = files
      .map((uri) => configurationFor(uri.fsPath, `KVM Guest: examples/${basename(uri.fsPath)}`))
      .sort((a, b) => a.name.localeCompare(b.name));
    const active = activeFileUri();
    if (active) {
      const found = programForFile(active.uri.fsPath, active.languageId);
      if ('program' in found && !configs.some((c) => c.program === found.program)) {
        configs.unshift(configurationFor(found.program, `KVM Guest: ${basename(found.program)} (active file)`));
      }
    }
    return configs;
  }
}
