#!/usr/bin/env node
// Builds the bundles into dist/ with esbuild (`npm run build`; npm runs it as `prepare` on
// `npm install` / `npm ci` in a clone):
//   dist/cli.cjs        bin/cli.ts, the command line (bin/kvm-guest.js loads it; dependencies stay
//                       in node_modules). Built here, never at start-up: an installed package has no
//                       esbuild, and concurrent runs must not write a shared file.
//   dist/extension.js   extension/extension.ts (CommonJS for Node, 'vscode' external)
//   dist/adapter.js     adapter/session.ts's KvmGuestSession, also runnable as
//                       `node dist/adapter.js` (DAP over stdio, --server=PORT for TCP);
//                       built only once adapter/session.ts exists
//   dist/iced_x86_bg.wasm  iced-x86's WebAssembly module. iced-x86's JS (bundled in) reads it
//                       with fs from path.join(__dirname, 'iced_x86_bg.wasm'), and in a bundle
//                       __dirname is dist/, so the file sits beside the bundles.
// Every file is written atomically (a temporary file renamed over the old one), so a process that
// loads a bundle while another builds it sees the old or the new file, never half of one.
// Usage: node scripts/build.mjs [--production] [--watch] [--outdir DIR] [--only cli|extension|adapter]
//   (DIR: instead of dist/, for tests; --only: build just that bundle)
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { V8_TUNING_JS } from './v8-tuning.mjs';
import { writeFileAtomic } from './write-atomic.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--outdir');
const DIST = outArg > 0 ? resolve(process.argv[outArg + 1]) : join(ROOT, 'dist');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg > 0 ? process.argv[onlyArg + 1] : undefined;
const require = createRequire(join(ROOT, 'package.json'));

/** Oldest VS Code we support (engines.vscode ^1.80) runs Electron 22 with Node 16. */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node16',
  external: ['vscode'],
  sourcemap: production ? false : 'linked',
  minify: false,
  keepNames: true,
  logLevel: 'warning',
  absWorkingDir: ROOT,
};

const ADAPTER_SESSION = join(ROOT, 'adapter', 'session.ts');
/** The adapter bundle's entry: KvmGuestSession, and a DAP server when run as a program. */
const ADAPTER_ENTRY = `
import { DebugSession } from '@vscode/debugadapter';
import { KvmGuestSession } from './adapter/session';
export { KvmGuestSession };
if (require.main === module) { ${V8_TUNING_JS} DebugSession.run(KvmGuestSession); }
`;

/**
 * The command line: Node 20+ (package.json engines), dependencies required from node_modules
 * (iced-x86 loads its .wasm from its own folder), V8 tuned before any emulator code runs
 * (scripts/v8-tuning.mjs). A linked source map keeps the bundle small to load.
 */
const cliOptions = {
  entryPoints: [join(ROOT, 'bin', 'cli.ts')],
  outfile: join(DIST, 'cli.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  sourcemap: production ? false : 'linked',
  keepNames: true,
  logLevel: 'warning',
  absWorkingDir: ROOT,
  banner: { js: V8_TUNING_JS },
  metafile: true,
};

function icedWasmPath() {
  return join(dirname(require.resolve('iced-x86/package.json')), 'iced_x86_bg.wasm');
}

/** A bundle that inlines iced-x86 needs its .wasm beside it. */
function bundlesIced(meta) {
  return Object.keys(meta.inputs).some((p) => p.includes('node_modules/iced-x86/'));
}

async function build() {
  mkdirSync(DIST, { recursive: true });
  const builds = [
    { name: 'cli', options: cliOptions },
    { name: 'extension', options: { ...common, entryPoints: [join(ROOT, 'extension', 'extension.ts')], outfile: join(DIST, 'extension.js'), metafile: true } },
  ];
  if (existsSync(ADAPTER_SESSION)) {
    builds.push({
      name: 'adapter',
      options: { ...common, stdin: { contents: ADAPTER_ENTRY, resolveDir: ROOT, sourcefile: 'adapter-entry.ts', loader: 'ts' }, outfile: join(DIST, 'adapter.js'), metafile: true },
    });
  } else {
    for (const f of ['adapter.js', 'adapter.js.map']) rmSync(join(DIST, f), { force: true });
    console.log('build: adapter/session.ts does not exist yet; dist/adapter.js not built (the extension reports "adapter not built yet")');
  }
  if (only && !builds.some((b) => b.name === only)) throw new Error(`build: --only ${only}: expected one of ${builds.map((b) => b.name).join(', ')}`);
  let needsWasm = false;
  for (const b of builds) {
    if (only && b.name !== only) continue;
    if (watch) {
      const ctx = await esbuild.context(b.options);
      await ctx.watch();
      console.log(`build: watching ${b.name}`);
      needsWasm = true;
      continue;
    }
    const result = await esbuild.build({ ...b.options, write: false });
    for (const f of result.outputFiles) writeFileAtomic(f.path, f.contents);
    // A production build has no source map: drop a stale one.
    if (!b.options.sourcemap) rmSync(`${b.options.outfile}.map`, { force: true });
    const out = relative(ROOT, b.options.outfile) || b.options.outfile;
    const bytes = readFileSync(b.options.outfile).length;
    console.log(`build: ${out} (${(bytes / 1024).toFixed(0)} KiB)`);
    if (bundlesIced(result.metafile)) needsWasm = true;
  }
  if (needsWasm) {
    writeFileAtomic(join(DIST, 'iced_x86_bg.wasm'), readFileSync(icedWasmPath()));
    console.log(`build: ${relative(ROOT, join(DIST, 'iced_x86_bg.wasm'))} (iced-x86 WebAssembly module)`);
  }
}

build().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
