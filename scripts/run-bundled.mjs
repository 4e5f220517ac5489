#!/usr/bin/env node
// Runs a TypeScript entry point as one esbuild bundle (scope-hoisted: calls between modules are
// direct, unlike a per-file transpiler's export getters, which cost the emulator's hot path more
// than half its speed). Used by `npm run bench` and bench/dap.ts; the CLI's own bundle is built by
// scripts/build.mjs. The bundle is written atomically (temporary file, then rename), so runs started
// together never load a half-written one.
// Usage: node scripts/run-bundled.mjs ENTRY.ts [args...]
import * as esbuild from 'esbuild';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { V8_TUNING_JS } from './v8-tuning.mjs';
import { writeFileAtomic } from './write-atomic.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Keep each module's own __dirname/__filename (a bundle would otherwise give every module the bundle's). */
const moduleDirname = {
  name: 'module-dirname',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes('node_modules')) return undefined;
      const { readFile } = await import('node:fs/promises');
      const text = await readFile(args.path, 'utf8');
      const contents = text
        .replace(/\b__dirname\b/g, JSON.stringify(dirname(args.path)))
        .replace(/\b__filename\b/g, JSON.stringify(args.path));
      return { contents, loader: 'ts' };
    });
  },
};

export async function bundle(entry) {
  // Beside the entry, so __dirname-relative files (guest sources, fixtures) resolve as in the sources.
  const outfile = join(dirname(resolve(entry)), '.bundle-' + basename(entry).replace(/\.ts$/, '') + '.cjs');
  const result = await esbuild.build({
    entryPoints: [resolve(entry)],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Dependencies stay in node_modules (iced-x86 loads its .wasm from its own folder).
    packages: 'external',
    sourcemap: 'inline',
    keepNames: true,
    logLevel: 'warning',
    absWorkingDir: ROOT,
    plugins: [moduleDirname],
    // Every bundle run this way runs the emulator: tune V8 first (scripts/v8-tuning.mjs).
    banner: { js: V8_TUNING_JS },
  });
  for (const f of result.outputFiles) writeFileAtomic(f.path, f.contents);
  return outfile;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [entry, ...args] = process.argv.slice(2);
  if (!entry) { console.error('usage: run-bundled.mjs ENTRY.ts [args...]'); process.exit(2); }
  const out = await bundle(entry);
  process.argv = [process.argv[0], out, ...args];
  createRequire(out)(out);
}
