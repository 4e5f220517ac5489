#!/usr/bin/env node
// kvm-guest: the command-line face of vm-core. Runs the esbuild bundle of bin/cli.ts that
// `npm run build` writes to dist/cli.cjs (npm runs the build as `prepare` on `npm install` or
// `npm ci` in a clone; a published package ships the bundle). Nothing is built or written at
// start-up: one bundle keeps the emulator's hot path fast, and parallel runs share no output file.
'use strict';
const { join } = require('node:path');

const BUNDLE = join(__dirname, '..', 'dist', 'cli.cjs');
let cli;
try {
  cli = require(BUNDLE);
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(BUNDLE)) {
    console.error(`kvm-guest: ${BUNDLE} is missing: run \`npm run build\` in ${join(__dirname, '..')} (npm install runs it too)`);
    process.exit(70);
  }
  throw e;
}
cli.main(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
}, (e) => {
  console.error(`kvm-guest: ${e && e.message ? e.message : e}`);
  process.exitCode = 70;
});
