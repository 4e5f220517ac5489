// Tokenizer for one line of NASM source. Two modes: 'pp' keeps preprocessor tokens (%define,
// %1, %%label, %+, %{1}) whole; 'asm' treats % and %% as the modulo operators.
import { parseNasmInteger, isNasmFloat } from './numbers';

export type TokenKind = 'id' | 'num' | 'float' | 'str' | 'op' | 'pp';

export interface Token {
  kind: TokenKind;
  /** Source text of the token (for strings: including quotes). */
  text: string;
  /** 1-based column in the line. */
  col: number;
  /** Whitespace precedes the token. */
  space: boolean;
  /** Integer value of a 'num' token. */
  value?: bigint;
  /** Decoded bytes (latin1 string) of a 'str' token. */
  str?: string;
}

export interface LexError { col: number; message: string }

const OPS3 = ['<<<', '>>>', '<=>'];
const OPS2 = ['<<', '>>', '//', '%%', '==', '!=', '<>', '<=', '>=', '&&', '||', '^^'];
const OPS1 = '+-*/%&|^~!()[],:?<>={}';

function isIdStart(c: string): boolean { return /[A-Za-z_.?@$]/.test(c); }
function isIdChar(c: string): boolean { return /[A-Za-z0-9_.?@$#~]/.test(c); }

/** Decodes a backquoted string's C-style escapes (NASM 3.4.2). Result is a latin1/UTF-8 byte string. */
export function decodeBackquote(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') { out += c; continue; }
    const n = body[++i];
    if (n === undefined) break;
    switch (n) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'e': out += '\x1b'; break;
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        let s = n;
        while (s.length < 3 && /[0-7]/.test(body[i + 1] ?? '')) s += body[++i];
        out += String.fromCharCode(parseInt(s, 8) & 0xff);
        break;
      }
      case 'x': {
        let s = '';
        while (s.length < 2 && /[0-9a-fA-F]/.test(body[i + 1] ?? '')) s += body[++i];
        out += String.fromCharCode(s ? parseInt(s, 16) : 0);
        break;
      }
      case 'u': case 'U': {
        const len = n === 'u' ? 4 : 8;
        let s = '';
        while (s.length < len && /[0-9a-fA-F]/.test(body[i + 1] ?? '')) s += body[++i];
        out += utf8(parseInt(s || '0', 16));
        break;
      }
      default: out += n;
    }
  }
  return out;
}

function utf8(cp: number): string {
  return Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
}

/** Converts source text (JS string) into a byte string (latin1 chars), UTF-8 encoding non-ASCII. */
export function toByteString(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1');
}

/** Position of the comment start (';' outside strings), or -1. */
export function commentStart(line: string): number {
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (q === '`' && c === '\\') { i++; continue; }
      if (c === q) q = null;
    } else if (c === '"' || c === "'" || c === '`') q = c;
    else if (c === ';') return i;
  }
  return -1;
}

export function tokenize(line: string, mode: 'pp' | 'asm', errors?: LexError[]): Token[] {
  const toks: Token[] = [];
  let i = 0;
  const n = line.length;
  let space = false;
  while (i < n) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') { i++; space = true; continue; }
    if (c === ';') break;
    const start = i;
    const col = i + 1;
    const push = (kind: TokenKind, text: string, extra?: Partial<Token>) => {
      toks.push({ kind, text, col, space, ...extra });
      space = false;
    };
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < n && line[j] !== c) { if (c === '`' && line[j] === '\\') j++; j++; }
      if (j >= n) { errors?.push({ col, message: `unterminated string` }); push('str', line.slice(i), { str: toByteString(line.slice(i + 1)) }); i = n; continue; }
      const body = line.slice(i + 1, j);
      push('str', line.slice(i, j + 1), { str: c === '`' ? decodeBackquote(toByteString(body)) : toByteString(body) });
      i = j + 1;
      continue;
    }
    if (mode === 'pp' && c === '%') {
      const m = /^%(?:%[A-Za-z_.?@$][A-Za-z0-9_.?@$#~]*|\+|-?[0-9]+|\{[^}]*\}|\$+[A-Za-z_.?@$][A-Za-z0-9_.?@$#~]*|![A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)/.exec(line.slice(i));
      if (m && !(m[0] === '%+' && false)) {
        // "%-1" only makes sense in macro bodies; "% 2" (with space) stays an operator.
        push('pp', m[0]);
        i += m[0].length;
        continue;
      }
    }
    if (/[0-9]/.test(c) || (c === '$' && /[0-9]/.test(line[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(line[j])) {
        if ((line[j] === 'e' || line[j] === 'E') && /[+-]/.test(line[j + 1] ?? '') && /^[0-9_]*\.?[0-9_]*$/.test(line.slice(i, j))) j += 2;
        else j++;
      }
      const text = line.slice(i, j);
      if (isNasmFloat(text)) push('float', text);
      else {
        const v = parseNasmInteger(text);
        if (v === undefined) errors?.push({ col, message: `invalid number '${text}'` });
        push('num', text, { value: v ?? 0n });
      }
      i = j;
      continue;
    }
    if (c === '?' && !isIdChar(line[i + 1] ?? ' ')) { push('op', c); i++; continue; }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdChar(line[j])) j++;
      push('id', line.slice(i, j));
      i = j;
      continue;
    }
    const three = line.slice(i, i + 3);
    if (OPS3.includes(three)) { push('op', three); i += 3; continue; }
    const two = line.slice(i, i + 2);
    if (OPS2.includes(two)) { push('op', two); i += 2; continue; }
    if (OPS1.includes(c)) { push('op', c); i++; continue; }
    if (c === '\\' ) { push('op', c); i++; continue; }
    if (c === '#') { push('op', c); i++; continue; }
    errors?.push({ col, message: `unexpected character '${c}'` });
    i++;
    void start;
  }
  return toks;
}

/** Rebuilds source text from tokens, keeping a space where one was. */
export function untokenize(toks: Token[]): string {
  let s = '';
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (i > 0 && t.space) s += ' ';
    s += t.text;
  }
  return s;
}
