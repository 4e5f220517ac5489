// Generates guest-asm.tmLanguage.json, the TextMate grammar of the guest assembly language
// (NASM dialect; NASM manual ch. 3 "The NASM Language" and ch. 4 "The NASM Preprocessor").
// The mnemonic list comes from iced-x86's Mnemonic enum (the encoder the assembler uses) plus
// NASM's condition-code aliases. Run: node syntaxes/generate-guest-asm-grammar.mjs [out.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const dts = readFileSync(join(dirname(require.resolve('iced-x86/package.json')), 'iced_x86.d.ts'), 'utf8');
const enumBody = /export enum Mnemonic \{([\s\S]*?)\n\}/.exec(dts)[1];
const iced = [...enumBody.matchAll(/^\s+([A-Z][A-Za-z0-9]*) = \d+/gm)].map((m) => m[1].toLowerCase()).filter((m) => m !== 'invalid');

// NASM manual appendix B / §3.x: condition-code aliases iced names only once (je/jne, sete, cmove...).
const cc = ['o', 'no', 'b', 'c', 'nae', 'ae', 'nb', 'nc', 'e', 'z', 'ne', 'nz', 'be', 'na', 'a', 'nbe', 's', 'ns', 'p', 'pe', 'np', 'po', 'l', 'nge', 'ge', 'nl', 'le', 'ng', 'g', 'nle'];
const aliases = [...cc.map((c) => 'j' + c), ...cc.map((c) => 'set' + c), ...cc.map((c) => 'cmov' + c), 'jecxz', 'jcxz', 'jrcxz', 'loopz', 'loopnz', 'loope', 'loopne', 'int1', 'icebp', 'sal', 'retn', 'retf', 'iretw', 'iretd', 'iretq', 'pushfw', 'popfw', 'pushaw', 'popaw', 'xlatb', 'sysretq', 'sysexitq'];
const prefixes = ['lock', 'rep', 'repe', 'repz', 'repne', 'repnz', 'xacquire', 'xrelease', 'bnd', 'notrack', 'o16', 'o32', 'o64', 'a16', 'a32', 'a64', 'wait'];
const control = new Set(['call', 'ret', 'retn', 'retf', 'iret', 'iretw', 'iretd', 'iretq', 'int', 'int1', 'int3', 'into', 'icebp', 'syscall', 'sysret', 'sysretq', 'sysenter', 'sysexit', 'sysexitq', 'hlt', 'ud0', 'ud1', 'ud2', 'jmp', 'jmpe', 'loop', 'loope', 'loopz', 'loopne', 'loopnz', 'vmcall', 'vmmcall', 'vmlaunch', 'vmresume', 'vmrun', 'vmexit', 'enter', 'leave']);
const all = [...new Set([...iced, ...aliases])].filter((m) => /^[a-z][a-z0-9]*$/.test(m) && !prefixes.includes(m));
const isControl = (m) => control.has(m) || /^j/.test(m) && m !== 'jmpe' || /^loop/.test(m);
// Longest first, so an alternation never stops at a shorter prefix.
const alt = (list) => [...new Set(list)].sort((a, b) => b.length - a.length || a.localeCompare(b)).join('|');

const gpr64 = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'rip', ...Array.from({ length: 8 }, (_, i) => `r${i + 8}`)];
const gpr = [
  ...gpr64, 'eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'eip', 'ax', 'bx', 'cx', 'dx', 'si', 'di', 'bp', 'sp', 'ip',
  'al', 'bl', 'cl', 'dl', 'ah', 'bh', 'ch', 'dh', 'spl', 'bpl', 'sil', 'dil',
  ...Array.from({ length: 8 }, (_, i) => ['d', 'w', 'b', 'l'].map((s) => `r${i + 8}${s}`)).flat(),
  ...Array.from({ length: 16 }, (_, i) => ['d', 'w', 'b'].map((s) => `r${i + 16}${s}`).concat(`r${i + 16}`)).flat(), // APX
];
const seg = ['cs', 'ds', 'es', 'fs', 'gs', 'ss'];
const ctl = Array.from({ length: 16 }, (_, i) => `cr${i}`);
const dbg = [...Array.from({ length: 16 }, (_, i) => `dr${i}`), ...[3, 4, 5, 6, 7].map((i) => `tr${i}`)];
const simd = [
  ...['xmm', 'ymm', 'zmm'].flatMap((p) => Array.from({ length: 32 }, (_, i) => `${p}${i}`)),
  ...Array.from({ length: 8 }, (_, i) => `mm${i}`), ...Array.from({ length: 8 }, (_, i) => `k${i}`),
  ...Array.from({ length: 8 }, (_, i) => `tmm${i}`), ...Array.from({ length: 4 }, (_, i) => `bnd${i}`),
];
const fpu = [...Array.from({ length: 8 }, (_, i) => `st${i}`), 'st'];

const sizes = ['byte', 'word', 'dword', 'qword', 'tword', 'oword', 'yword', 'zword', 'fword'];
const modifiers = ['strict', 'short', 'near', 'far', 'rel', 'abs', 'nosplit', 'seg', 'wrt', 'to', 'ptr'];
const dataDefs = ['db', 'dw', 'dd', 'dq', 'dt', 'do', 'dy', 'dz'];
const reserves = ['resb', 'resw', 'resd', 'resq', 'rest', 'reso', 'resy', 'resz'];
const directives = ['bits', 'use16', 'use32', 'use64', 'org', 'section', 'segment', 'absolute', 'global', 'extern', 'common', 'static', 'required', 'default', 'cpu', 'float', 'warning', 'map', 'times', 'align', 'alignb', 'sectalign', 'struc', 'endstruc', 'istruc', 'iend', 'at', 'incbin', 'equ'];
const pp = ['define', 'xdefine', 'idefine', 'ixdefine', 'undef', 'defstr', 'idefstr', 'deftok', 'ideftok', 'defalias', 'idefalias', 'undefalias', 'clear',
  'assign', 'iassign', 'strlen', 'substr', 'strcat', 'macro', 'imacro', 'rmacro', 'irmacro', 'endmacro', 'unmacro', 'unimacro', 'rotate', 'local',
  'rep', 'endrep', 'exitrep', 'exitmacro', 'if', 'elif', 'else', 'endif', 'include', 'pathsearch', 'depend', 'use', 'push', 'pop', 'repl', 'arg', 'stacksize',
  'error', 'warning', 'fatal', 'note', 'line', 'pragma', 'null', 'iffile', 'elifffile']
  .concat(['if', 'elif'].flatMap((k) => ['def', 'ndef', 'macro', 'nmacro', 'ctx', 'nctx', 'idn', 'nidn', 'idni', 'nidni', 'id', 'nid', 'num', 'nnum', 'str', 'nstr', 'token', 'ntoken', 'empty', 'nempty', 'env', 'nenv', 'usable', 'nusable', 'using', 'nusing'].map((s) => k + s)));

// Identifier characters (NASM manual §3.1): letters, digits, _ $ # @ ~ . ?
const ID = '[A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*';
const B = '(?<![A-Za-z0-9_$#@~.?%])';   // not inside an identifier
const E = '(?![A-Za-z0-9_$#@~.?])';
const S = '.guest-asm';

const grammar = {
  $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
  name: 'Guest Assembly (NASM)',
  scopeName: 'source.guest-asm',
  fileTypes: ['asm', 'nasm', 's', 'inc'],
  comment: 'Generated by syntaxes/generate-guest-asm-grammar.mjs; edit that script, not this file.',
  patterns: [
    { include: '#comment' },
    { include: '#label-definition' },
    { include: '#preprocessor' },
    { include: '#strings' },
    { include: '#numbers' },
    { include: '#registers' },
    { include: '#keywords' },
    { include: '#mnemonics' },
    { include: '#special-symbols' },
    { include: '#operators' },
  ],
  repository: {
    comment: {
      match: '(;).*$',
      name: `comment.line.semicolon${S}`,
      captures: { 1: { name: `punctuation.definition.comment${S}` } },
    },
    strings: {
      patterns: [
        // NASM §3.4.2: '...' and "..." take no escapes; `...` takes C-style escapes.
        { begin: "'", end: "'|$", name: `string.quoted.single${S}`, beginCaptures: { 0: { name: `punctuation.definition.string.begin${S}` } }, endCaptures: { 0: { name: `punctuation.definition.string.end${S}` } } },
        { begin: '"', end: '"|$', name: `string.quoted.double${S}`, beginCaptures: { 0: { name: `punctuation.definition.string.begin${S}` } }, endCaptures: { 0: { name: `punctuation.definition.string.end${S}` } } },
        {
          begin: '`', end: '`|$', name: `string.quoted.other.backtick${S}`,
          beginCaptures: { 0: { name: `punctuation.definition.string.begin${S}` } }, endCaptures: { 0: { name: `punctuation.definition.string.end${S}` } },
          patterns: [{ match: "\\\\(?:[\\\\'\"`?abefnrtv]|[0-7]{1,3}|x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})", name: `constant.character.escape${S}` }],
        },
      ],
    },
    numbers: {
      // NASM §3.4.1 numeric constants and §3.4.6 floating-point constants; underscores allowed anywhere after the first digit.
      patterns: [
        { match: `(?i)${B}(?:0[xh][0-9a-f_]*\\.[0-9a-f_]*(?:p[+-]?[0-9_]+)?|0[xh][0-9a-f_]+p[+-]?[0-9_]+)${E}`, name: `constant.numeric.float.hexadecimal${S}` },
        { match: `(?i)${B}(?:[0-9][0-9_]*\\.[0-9_]*(?:e[+-]?[0-9_]+)?|[0-9][0-9_]*e[+-]?[0-9_]+)${E}`, name: `constant.numeric.float.decimal${S}` },
        { match: `(?i)__\\??(?:float(?:8|16|32|64|80m|80e|128l|128h)|bfloat16|infinity|qnan|snan|utf16|utf16le|utf16be|utf32|utf32le|utf32be)\\??__`, name: `support.function.builtin${S}` },
        { match: `(?i)${B}(?:0[xh][0-9a-f_]+|\\$[0-9][0-9a-f_]*|[0-9][0-9a-f_]*[hx])${E}`, name: `constant.numeric.hex${S}` },
        { match: `(?i)${B}(?:0[by][01_]+|[01][01_]*[by])${E}`, name: `constant.numeric.binary${S}` },
        { match: `(?i)${B}(?:0[oq][0-7_]+|[0-7][0-7_]*[oq])${E}`, name: `constant.numeric.octal${S}` },
        { match: `(?i)${B}(?:0[dt][0-9_]+|[0-9][0-9_]*[dt]?)${E}`, name: `constant.numeric.decimal${S}` },
      ],
    },
    registers: {
      patterns: [
        { match: `(?i)${B}(?:${alt(gpr)})${E}`, name: `variable.language.register.general${S}` },
        { match: `(?i)${B}(?:${alt(seg)})${E}`, name: `variable.language.register.segment${S}` },
        { match: `(?i)${B}(?:${alt(ctl)})${E}`, name: `variable.language.register.control${S}` },
        { match: `(?i)${B}(?:${alt(dbg)})${E}`, name: `variable.language.register.debug${S}` },
        { match: `(?i)${B}(?:${alt(simd)})${E}`, name: `variable.language.register.simd${S}` },
        { match: `(?i)${B}(?:${alt(fpu)})${E}`, name: `variable.language.register.fpu${S}` },
      ],
    },
    keywords: {
      patterns: [
        { match: `(?i)${B}(?:${alt(sizes)})${E}`, name: `storage.type.size${S}` },
        { match: `(?i)${B}(?:${alt(modifiers)})${E}`, name: `storage.modifier${S}` },
        { match: `(?i)${B}(?:${alt(dataDefs)})${E}`, name: `storage.type.data${S}` },
        { match: `(?i)${B}(?:${alt(reserves)})${E}`, name: `storage.type.reserve${S}` },
        { match: `(?i)${B}(?:${alt(directives)})${E}`, name: `keyword.directive${S}` },
        { match: `(?i)${B}(?:${alt(prefixes)})${E}`, name: `keyword.other.prefix${S}` },
      ],
    },
    mnemonics: {
      patterns: [
        { match: `(?i)${B}(?:${alt(all.filter(isControl))})${E}`, name: `keyword.control.mnemonic${S}` },
        { match: `(?i)${B}(?:${alt(all.filter((m) => !isControl(m)))})${E}`, name: `keyword.mnemonic${S}` },
      ],
    },
    'label-definition': {
      patterns: [
        // NASM §3.9: ..@ labels are macro-style specials, .name labels are local to the previous non-local label.
        { match: `^\\s*(\\.\\.@[A-Za-z0-9_$#@~.?]+)\\s*(:)`, captures: { 1: { name: `entity.name.label.special${S}` }, 2: { name: `punctuation.separator.label${S}` } } },
        { match: `^\\s*(\\.[A-Za-z_$#@~?][A-Za-z0-9_$#@~.?]*)\\s*(:)`, captures: { 1: { name: `entity.name.label.local${S}` }, 2: { name: `punctuation.separator.label${S}` } } },
        { match: `^\\s*(%%[A-Za-z0-9_$#@~.?]+)\\s*(:)`, captures: { 1: { name: `entity.name.label.macro-local${S}` }, 2: { name: `punctuation.separator.label${S}` } } },
        { match: `^\\s*(${ID})\\s*(:)`, captures: { 1: { name: `entity.name.label${S}` }, 2: { name: `punctuation.separator.label${S}` } } },
        // A label without a colon before data, reserve, equ or times (NASM §3.1).
        { match: `(?i)^\\s*(${ID})(?=\\s+(?:equ)${E})`, captures: { 1: { name: `entity.name.constant${S}` } } },
        { match: `(?i)^\\s*(${ID})(?=\\s+(?:${alt([...dataDefs, ...reserves, 'times', 'istruc'])})${E})`, captures: { 1: { name: `entity.name.label${S}` } } },
      ],
    },
    preprocessor: {
      patterns: [
        {
          // NASM §4.1-4.3: single-line macros and numeric/string variables; the name is scoped as a definition.
          match: `(?i)^\\s*((%)(?:${alt(['define', 'xdefine', 'idefine', 'ixdefine', 'undef', 'assign', 'iassign', 'defstr', 'idefstr', 'deftok', 'ideftok', 'strlen', 'substr', 'strcat'])}))\\s+(${ID})`,
          captures: { 1: { name: `keyword.control.directive.preprocessor${S}` }, 2: { name: `punctuation.definition.directive${S}` }, 3: { name: `entity.name.function.preprocessor${S}` } },
        },
        {
          // NASM §4.3: %macro name nparams[-max][+][.nolist]
          match: `(?i)^\\s*((%)(?:macro|imacro|rmacro|irmacro|unmacro|unimacro))\\s+(${ID})`,
          captures: { 1: { name: `keyword.control.directive.preprocessor${S}` }, 2: { name: `punctuation.definition.directive${S}` }, 3: { name: `entity.name.function.macro${S}` } },
        },
        {
          match: `(?i)^\\s*((%)(?:${alt(pp)}))${E}`,
          captures: { 1: { name: `keyword.control.directive.preprocessor${S}` }, 2: { name: `punctuation.definition.directive${S}` } },
        },
        { match: '%\\+', name: `keyword.operator.token-paste${S}` },
        { match: '%%[A-Za-z0-9_$#@~.?]+', name: `variable.other.label.macro-local${S}` },
        { match: '%\\$+[A-Za-z0-9_$#@~.?]+', name: `variable.other.context-local${S}` },
        { match: '%[-+]?[0-9]+|%\\{[-+]?[0-9]+(?::[-+]?[0-9]+)?\\}', name: `variable.parameter.macro${S}` },
        { match: '%\\?\\??', name: `variable.language.macro-name${S}` },
        { match: `%!${ID}|%!"[^"]*"|%!'[^']*'`, name: `variable.other.environment${S}` },
        { begin: '%\\[', end: '\\]', name: `meta.preprocessor.expansion${S}`, beginCaptures: { 0: { name: `punctuation.section.expansion.begin${S}` } }, endCaptures: { 0: { name: `punctuation.section.expansion.end${S}` } }, patterns: [{ include: '$self' }] },
        { match: `(?i)__\\??(?:file|line|bits|output_format|date|time|utc_date|utc_time|posix_time|pass|nasm_version|nasm_ver|section|sectalign)\\??__`, name: `support.constant.builtin${S}` },
        { match: `(?i)(%)(?:${alt(pp)})${E}`, captures: { 0: { name: `keyword.control.directive.preprocessor${S}` }, 1: { name: `punctuation.definition.directive${S}` } } },
      ],
    },
    'special-symbols': {
      patterns: [
        { match: '\\$\\$|\\$(?![A-Za-z0-9_$#@~.?])', name: `variable.language.location${S}` },
        { match: `${B}\\.\\.(?:start|imagebase|tlvp|got|gotpc|gotoff|gottpoff|plt|sym|tlsie)${E}`, name: `variable.language.special${S}` },
        { match: '\\.\\.@[A-Za-z0-9_$#@~.?]+', name: `variable.other.label.special${S}` },
        { match: '\\[|\\]', name: `punctuation.definition.memory${S}` },
        { match: ',', name: `punctuation.separator${S}` },
      ],
    },
    operators: {
      // NASM §3.5 expression operators.
      match: '<<<|>>>|<<|>>|//|%%|<=>|<=|>=|==|!=|<>|&&|\\|\\||\\^\\^|[-+*/%&|^~!<>=?:]',
      name: `keyword.operator${S}`,
    },
  },
};

// Usage: node generate-guest-asm-grammar.mjs [output path] (default: beside this script).
const out = process.argv[2] ?? join(here, 'guest-asm.tmLanguage.json');
writeFileSync(out, JSON.stringify(grammar, null, 2) + '\n');
console.log(`wrote ${out}: ${all.length} mnemonics`);
