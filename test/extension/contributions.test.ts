// package.json's contributions: consistent with themselves, with the extension's code, with the
// grammar files and with vm-core's launch-option schema (scripts/gen-contributions.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, DEBUG_TYPE, VIEWS } from '../../extension/constants';

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const c = pkg.contributes;
const dbg = c.debuggers.find((d: { type: string }) => d.type === DEBUG_TYPE);

test('package.json launch attributes agree with vm-core/config/launch-schema.json', async (t) => {
  const gen = await import(join(ROOT, 'scripts', 'gen-contributions.mjs'));
  const expected = gen.buildLaunchAttributes(ROOT);
  if (!expected) return t.skip(`${gen.SCHEMA_PATH} does not exist yet`);
  const actual = dbg.configurationAttributes.launch;
  assert.deepEqual(Object.keys(actual.properties).sort(), Object.keys(expected.properties).sort(), 'option names (run node scripts/gen-contributions.mjs)');
  for (const name of Object.keys(expected.properties)) {
    assert.deepEqual(actual.properties[name], expected.properties[name], `option "${name}" (run node scripts/gen-contributions.mjs)`);
  }
  assert.deepEqual(actual.required, expected.required);
});

test('every launch option has a description and a type', () => {
  for (const [name, p] of Object.entries<Record<string, unknown>>(dbg.configurationAttributes.launch.properties)) {
    assert.ok(typeof p.description === 'string' && p.description.length > 10, `${name}: description`);
    assert.ok(p.type !== undefined, `${name}: type`);
  }
  assert.ok(dbg.configurationAttributes.launch.required.includes('program'));
});

test('initial configurations and snippets use only known options', () => {
  const known = new Set([...Object.keys(dbg.configurationAttributes.launch.properties), 'type', 'request', 'name']);
  const bodies = [...dbg.initialConfigurations, ...dbg.configurationSnippets.map((s: { body: unknown }) => s.body)];
  assert.ok(bodies.length >= 2);
  for (const b of bodies) {
    assert.equal(b.type, DEBUG_TYPE);
    assert.equal(b.request, 'launch');
    for (const k of Object.keys(b)) assert.ok(known.has(k), `unknown option "${k}" in ${b.name}`);
  }
});

test('the guest-asm language and grammar point at the files in syntaxes/', () => {
  const lang = c.languages.find((l: { id: string }) => l.id === 'guest-asm');
  assert.ok(lang, 'language guest-asm');
  assert.ok(!lang.extensions.includes('.s'), '.s is GNU as, not NASM');
  assert.ok(existsSync(join(ROOT, lang.configuration)));
  JSON.parse(readFileSync(join(ROOT, lang.configuration), 'utf8'));
  const grammar = c.grammars.find((g: { language: string }) => g.language === 'guest-asm');
  const file = JSON.parse(readFileSync(join(ROOT, grammar.path), 'utf8'));
  assert.equal(grammar.scopeName, file.scopeName);
  const bpLangs = c.breakpoints.map((b: { language: string }) => b.language);
  for (const l of ['guest-asm', 'c', 'asm']) assert.ok(bpLangs.includes(l), `breakpoints in ${l}`);
});

test('commands, views and menus match the extension code', () => {
  const declared = new Set(c.commands.map((x: { command: string }) => x.command));
  for (const id of Object.values(COMMANDS)) assert.ok(declared.has(id), `command ${id} declared`);
  for (const id of declared) assert.ok((Object.values(COMMANDS) as string[]).includes(id as string), `command ${id} registered by the extension`);
  for (const [menu, items] of Object.entries<{ command: string }[]>(c.menus)) {
    for (const item of items) assert.ok(declared.has(item.command), `${menu}: ${item.command} declared`);
  }
  const views = c.views.debug.map((v: { id: string }) => v.id);
  assert.deepEqual(views.sort(), Object.values(VIEWS).sort());
  assert.deepEqual(c.views.debug.map((v: { name: string }) => v.name).sort(), ['Register Cache', 'VM Exits']);
});

test('activation events, entry point and engine', () => {
  for (const e of ['onDebugResolve:kvm-guest', 'onDebugDynamicConfigurations:kvm-guest', 'onLanguage:guest-asm']) {
    assert.ok(pkg.activationEvents.includes(e), e);
  }
  assert.equal(pkg.main, './dist/extension.js');
  // vsce refuses a @types/vscode newer than engines.vscode.
  const engine = pkg.engines.vscode.replace(/^\^/, '');
  assert.equal(pkg.devDependencies['@types/vscode'], engine);
});
