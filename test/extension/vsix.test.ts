// `npm run package` builds a .vsix with only what runs: the bundles, iced-x86's WebAssembly
// module beside them, the grammar files, the manifest and readme. No sources, tests, maps,
// node_modules or other dev files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const VSIX = join(ROOT, 'dist', 'kvm-guest-debugger.vsix');

type Zip = {
  zipEntries(path: string): { name: string }[];
  zipRead(path: string, name: string): Buffer;
};

test('npm run package builds a .vsix without dev files', async (t) => {
  const build = spawnSync('npm', ['run', '--silent', 'package'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, `npm run package failed:\n${build.stdout}\n${build.stderr}`);
  const zip: Zip = await import(join(ROOT, 'test', 'e2e', 'zip.mjs'));
  const names = zip.zipEntries(VSIX).map((e) => e.name).sort();

  const adapterBuilt = existsSync(join(ROOT, 'adapter', 'session.ts'));
  const expected = [
    '[Content_Types].xml', 'extension.vsixmanifest',
    'extension/package.json', 'extension/readme.md',
    'extension/dist/extension.js', 'extension/dist/iced_x86_bg.wasm',
    'extension/syntaxes/guest-asm.tmLanguage.json', 'extension/syntaxes/language-configuration.json',
    ...(adapterBuilt ? ['extension/dist/adapter.js'] : []),
    // The README's screenshots, shown by the Extensions view from the installed extension.
    ...readdirSync(join(ROOT, 'docs', 'screenshots')).filter((f) => f.endsWith('.png')).map((f) => `extension/docs/screenshots/${f}`),
  ];
  const optional = new Set(['extension/changelog.md', 'extension/LICENSE.txt', 'extension/LICENSE.md', 'extension/LICENSE', 'extension/images/icon.png']);
  assert.deepEqual(names.filter((n) => !optional.has(n)), expected.sort());
  for (const n of names) {
    assert.doesNotMatch(n, /\.(ts|map|mjs)$|node_modules|\/(test|vm-core|adapter|scripts|bench|tools|examples|\.ci|\.cache)\//, n);
  }
  const readme = zip.zipRead(VSIX, 'extension/readme.md').toString('utf8');
  for (const m of readme.matchAll(/!\[[^\]]*\]\(([^)]+\.png)\)/g)) {
    assert.ok(names.includes(`extension/${m[1]}`), `the README's image ${m[1]} is in the .vsix`);
  }

  await t.test('iced-x86 WebAssembly module ships beside the bundle that reads it from __dirname', () => {
    const wasm = zip.zipRead(VSIX, 'extension/dist/iced_x86_bg.wasm');
    assert.ok(wasm.equals(readFileSync(join(ROOT, 'node_modules', 'iced-x86', 'iced_x86_bg.wasm'))));
    const bundle = zip.zipRead(VSIX, 'extension/dist/extension.js').toString('utf8');
    assert.match(bundle, /join\(__dirname, "iced_x86_bg\.wasm"\)/);
    assert.match(bundle, /require\("vscode"\)/, 'vscode stays external');
  });

  await t.test('the packaged adapter runs as a DAP server over stdio', { skip: adapterBuilt ? false : 'adapter/session.ts does not exist yet' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsix-'));
    try {
      for (const n of ['extension/dist/adapter.js', 'extension/dist/iced_x86_bg.wasm']) {
        writeFileSync(join(dir, n.split('/').pop()!), zip.zipRead(VSIX, n));
      }
      const child = spawn(process.execPath, [join(dir, 'adapter.js')], { stdio: ['pipe', 'pipe', 'pipe'] });
      const body = JSON.stringify({ seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'kvm-guest', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' } });
      child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      const response = await new Promise<Record<string, unknown>>((resolve, reject) => {
        let out = '';
        let err = '';
        const timer = setTimeout(() => reject(new Error(`no initialize response in 15 s; stderr: ${err}`)), 15000);
        child.stderr.on('data', (d) => { err += d; });
        child.stdout.on('data', (d) => {
          out += d;
          const m = /Content-Length: (\d+)\r\n\r\n/.exec(out);
          if (m && out.length >= m.index + m[0].length + Number(m[1])) {
            clearTimeout(timer);
            resolve(JSON.parse(out.slice(m.index + m[0].length, m.index + m[0].length + Number(m[1]))));
          }
        });
        child.on('exit', (code) => reject(new Error(`adapter exited with ${code}; stderr: ${err}`)));
      });
      child.kill();
      assert.equal(response.command, 'initialize');
      assert.equal(response.success, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
