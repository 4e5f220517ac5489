#!/usr/bin/env node
// kvm-guest: the command-line face of vm-core. The TypeScript sources run as one esbuild bundle
// (built on the fly beside bin/cli.ts; a bundle keeps the emulator's hot path fast).
'use strict';
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

(async () => {
  const { bundle } = await import(pathToFileURL(join(__dirname, '..', 'scripts', 'run-bundled.mjs')).href);
  const out = await bundle(join(__dirname, 'cli.ts'));
  const { main } = require(out);
  process.exitCode = await main(process.argv.slice(2));
})().catch((e) => {
  console.error(`kvm-guest: ${e && e.message ? e.message : e}`);
  process.exitCode = 70;
});
