// Shared types for the assembler: source locations, preprocessed lines and the diagnostic sink.
import type { Diagnostic } from '../image';

export interface SourceLoc { file: string; line: number }

/** One logical line after preprocessing, ready for the parser. */
export interface PpLine {
  text: string;
  /** Where the line map points: the real line, or the macro invocation site for macro bodies. */
  loc: SourceLoc;
  /** For lines that came from a macro body: where in the macro definition. */
  body?: SourceLoc;
  /** Name of the (innermost) macro the line was expanded from. */
  macro?: string;
  /** Column numbers of `text` match the source line (no expansion changed it). */
  exact: boolean;
}

export class Diagnostics {
  readonly list: Diagnostic[] = [];
  errorCount = 0;
  private seen = new Set<string>();

  add(loc: SourceLoc, col: number, severity: 'error' | 'warning', message: string, body?: SourceLoc, macro?: string): void {
    let msg = message;
    if (body && macro) msg += ` (in macro '${macro}' at ${body.file}:${body.line})`;
    const key = `${loc.file}:${loc.line}:${col}:${severity}:${msg}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (severity === 'error') this.errorCount++;
    this.list.push({ file: loc.file, line: loc.line, column: Math.max(1, col), severity, message: msg });
  }

  error(loc: SourceLoc, col: number, message: string): void { this.add(loc, col, 'error', message); }
  warning(loc: SourceLoc, col: number, message: string): void { this.add(loc, col, 'warning', message); }

  /** Reports against a preprocessed line (mentions the macro body location when there is one). */
  at(line: PpLine, col: number, severity: 'error' | 'warning', message: string): void {
    this.add(line.loc, line.exact ? col : 1, severity, message, line.body, line.macro);
  }
}
