// The guest-asm TextMate grammar: every case file under test/syntaxes/cases is checked with
// vscode-tmgrammar-test (scope assertions under each source line), and the committed grammar
// must equal what its generator produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const grammar = join(root, 'syntaxes/guest-asm.tmLanguage.json');
const cli = join(root, 'node_modules/vscode-tmgrammar-test/dist/unit.js');
const casesDir = join(__dirname, 'cases');

for (const file of readdirSync(casesDir).filter((f) => f.endsWith('.asm')).sort()) {
  test(`grammar scopes: ${file}`, (t) => {
    if (!existsSync(cli)) return t.skip('vscode-tmgrammar-test is not installed (npm install)');
    const r = spawnSync(process.execPath, [cli, '-c', '-g', grammar, join(casesDir, file)], { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout, /can't parse|failed/);
  });
}

test('the committed grammar is what syntaxes/generate-guest-asm-grammar.mjs generates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'guest-asm-grammar-'));
  try {
    const out = join(dir, 'g.json');
    const r = spawnSync(process.execPath, [join(root, 'syntaxes/generate-guest-asm-grammar.mjs'), out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), readFileSync(grammar, 'utf8'), 'run the generator and commit its output');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('grammar and language configuration are well-formed', () => {
  const g = JSON.parse(readFileSync(grammar, 'utf8')) as { scopeName: string; patterns: { include: string }[]; repository: Record<string, unknown> };
  assert.equal(g.scopeName, 'source.guest-asm');
  for (const p of g.patterns) assert.ok(p.include.startsWith('#') && g.repository[p.include.slice(1)], `${p.include} is defined`);
  const conf = JSON.parse(readFileSync(join(root, 'syntaxes/language-configuration.json'), 'utf8')) as {
    comments: { lineComment: string }; wordPattern: string; folding: { markers: { start: string; end: string } };
    indentationRules: { increaseIndentPattern: string; decreaseIndentPattern: string };
  };
  assert.equal(conf.comments.lineComment, ';');
  const word = new RegExp(conf.wordPattern);
  for (const w of ['.loop', '%%again', '..@x', '0x1F', '$1F', 'rax', '%1']) assert.equal(word.exec(w)?.[0], w, `${w} is one word`);
  const start = new RegExp(conf.folding.markers.start), end = new RegExp(conf.folding.markers.end);
  for (const l of ['%macro m 1', '%rep 4', '%if X', '%ifdef X', 'struc point', '; region setup']) assert.ok(start.test(l), l);
  for (const l of ['%endmacro', '%endrep', '%endif', 'endstruc', '; endregion']) assert.ok(end.test(l), l);
  assert.ok(new RegExp(conf.indentationRules.increaseIndentPattern).test('%macro m 0'));
  assert.ok(new RegExp(conf.indentationRules.decreaseIndentPattern).test('%endmacro'));
});
