// Assembler errors and warnings of guest assembly sources in the Problems view, on open and on
// save, from the same assembler the debugger launches with (vm-core/loader/assemble).
import * as vscode from 'vscode';
import { GUEST_ASM_LANGUAGE } from './guest-files';

type AssembleModule = typeof import('../vm-core/loader/assemble');
let assembler: Promise<AssembleModule> | undefined;
/** Loaded on first use: the assembler brings iced-x86's WebAssembly module with it. */
function loadAssembler(): Promise<AssembleModule> {
  return (assembler ??= import('../vm-core/loader/assemble'));
}

export class AssemblerDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('guest-asm');
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor() {
    this.subscriptions.push(
      vscode.workspace.onDidOpenTextDocument((d) => void this.check(d)),
      vscode.workspace.onDidSaveTextDocument((d) => void this.check(d)),
      vscode.workspace.onDidCloseTextDocument((d) => this.collection.delete(d.uri)),
    );
    for (const d of vscode.workspace.textDocuments) void this.check(d);
  }

  async check(doc: vscode.TextDocument): Promise<void> {
    if (doc.languageId !== GUEST_ASM_LANGUAGE || doc.uri.scheme !== 'file') return;
    await this.publish(doc.uri, doc.getText());
  }

  /**
   * At launch: assembles the program (the open editor's text if it is open, else the file) and
   * publishes its diagnostics, so the Problems view lists what the launch error names. Returns
   * the number of errors.
   */
  async checkProgram(path: string): Promise<number> {
    const uri = vscode.Uri.file(path);
    const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === uri.fsPath);
    const text = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    return this.publish(uri, text);
  }

  private async publish(uri: vscode.Uri, source: string): Promise<number> {
    const { assemble } = await loadAssembler();
    const doc = { uri };
    const result = assemble({ path: uri.fsPath, source });
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const d of result.diagnostics) {
      const line = Math.max(0, d.line - 1);
      const col = Math.max(0, d.column - 1);
      const range = new vscode.Range(line, col, line, Number.MAX_SAFE_INTEGER);
      const diag = new vscode.Diagnostic(range, d.message, d.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      diag.source = 'guest-asm';
      const file = d.file || doc.uri.fsPath;
      byFile.set(file, [...(byFile.get(file) ?? []), diag]);
    }
    this.collection.delete(doc.uri);
    if (!byFile.has(doc.uri.fsPath)) this.collection.set(doc.uri, []);
    for (const [file, diags] of byFile) this.collection.set(vscode.Uri.file(file), diags);
    return result.diagnostics.filter((d) => d.severity === 'error').length;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.collection.dispose();
  }
}
