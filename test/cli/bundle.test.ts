// bin/kvm-guest.js runs the bundle `npm run build` wrote (dist/cli.cjs) and builds nothing at
// start-up: the npm package ships it and runs with only the production dependencies (no esbuild,
// no TypeScript sources); without it the CLI says to run `npm run build`; parallel runs write no
// shared file (issue 14: 3 of 8 concurrent runs failed while they rebuilt one bundle).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BIN, CLI_BUNDLE, ROOT, ensureCliBundle } from './cli-bundle';

const GUEST = join(ROOT, 'test/adapter/guests/exits.asm');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; bin: Record<string, string> };

before(ensureCliBundle);

/** Files npm would pack (npm pack --dry-run, without running prepare). */
let packed: string[] | undefined;
function packedFiles(): string[] {
  if (packed) return packed;
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (packed = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path).sort());
}

/** The production dependencies and theirs, as folders under node_modules. */
function productionDeps(): string[] {
  const out = new Set<string>();
  const visit = (name: string) => {
    if (out.has(name)) return;
    out.add(name);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const d of Object.keys(pkg.dependencies ?? {})) visit(d);
  };
  for (const d of Object.keys(PKG.dependencies)) visit(d);
  return [...out];
}

test('the npm package ships bin/kvm-guest.js and the built dist/cli.cjs, and nothing to build', () => {
  const files = packedFiles();
  assert.deepEqual(files.filter((f) => !/^(package\.json|README\.md|LICENSE.*)$/.test(f)), ['bin/kvm-guest.js', 'dist/cli.cjs']);
  assert.equal(PKG.bin['kvm-guest'], 'bin/kvm-guest.js');
});

test('installed with only its production dependencies, the CLI runs a guest (no esbuild, no sources)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvm-guest-pkg-'));
  try {
    for (const f of packedFiles()) {
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      copyFileSync(join(ROOT, f), join(dir, f));
    }
    for (const d of productionDeps()) {
      mkdirSync(dirname(join(dir, 'node_modules', d)), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', d), join(dir, 'node_modules', d), 'dir');
    }
    cpSync(GUEST, join(dir, 'guest.asm'));
    const r = spawnSync(process.execPath, [join(dir, 'bin', 'kvm-guest.js'), 'run', 'guest.asm', '--json'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0x21, r.stderr);
    assert.equal(JSON.parse(r.stdout).output, 'Hi');
    const v = spawnSync(process.execPath, [join(dir, 'bin', 'kvm-guest.js'), '--version'], { cwd: dir, encoding: 'utf8' });
    assert.equal(v.stdout.trim(), `kvm-guest ${PKG.version}`);
    // Nothing was written beside the program.
    assert.deepEqual(readdirSync(join(dir, 'bin')), ['kvm-guest.js']);
    assert.deepEqual(readdirSync(join(dir, 'dist')), ['cli.cjs']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without dist/cli.cjs the CLI says to run npm run build (exit 70), and builds nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvm-guest-nobundle-'));
  try {
    mkdirSync(join(dir, 'bin'));
    copyFileSync(BIN, join(dir, 'bin', 'kvm-guest.js'));
    const r = spawnSync(process.execPath, [join(dir, 'bin', 'kvm-guest.js'), '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 70);
    assert.match(r.stderr, /dist\/cli\.cjs is missing: run `npm run build`/);
    assert.deepEqual(readdirSync(dir), ['bin']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help and --version start without loading the emulator or iced-x86 (their start-up cost)', () => {
  // The bundle is required as bin/kvm-guest.js does; afterwards no iced-x86 module is loaded.
  const probe = `const cli = require(${JSON.stringify(CLI_BUNDLE)});
    const io = { out() {}, err() {} };
    (async () => {
      for (const a of [['--help'], ['--version'], ['run', '--help']]) if (await cli.main(a, io) !== 0) throw new Error('status of ' + a.join(' '));
      const loaded = Object.keys(require.cache).filter((f) => f.includes('iced-x86'));
      process.stdout.write(JSON.stringify(loaded));
    })();`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [], 'modules loaded by --help/--version');
});

test('8 parallel runs all succeed and write no file into bin/ or dist/', async () => {
  const listing = () => ['bin', 'dist'].flatMap((d) => readdirSync(join(ROOT, d)).map((f) => `${d}/${f}@${statSync(join(ROOT, d, f)).mtimeMs}`)).sort();
  const before = listing();
  const runs = await Promise.all(Array.from({ length: 8 }, () => new Promise<{ status: number | null; out: string; err: string }>((res) => {
    const p = spawn(process.execPath, [BIN, 'run', GUEST, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (status) => res({ status, out, err }));
  })));
  for (const r of runs) {
    assert.equal(r.status, 0x21, r.err);
    assert.equal(JSON.parse(r.out).output, 'Hi');
  }
  assert.deepEqual(listing(), before);
  assert.ok(statSync(CLI_BUNDLE).size > 0);
});
