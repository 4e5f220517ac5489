// Runs every *.test.ts under test/ with Node's built-in test runner (tsx transpiles).
// Usage: node test/run.mjs [dir-or-file ...]  (default: test/)
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(p, out) {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const e of readdirSync(p).sort()) {
      if (e === 'node_modules' || e === 'build' || e === 'e2e') continue;
      collect(join(p, e), out);
    }
  } else if (/\.test\.ts$/.test(p)) out.push(p);
  return out;
}
const roots = process.argv.slice(2);
const files = [];
for (const r of roots.length ? roots : ['test']) collect(resolve(r), files);
if (files.length === 0) { console.error('no test files found'); process.exit(1); }
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
