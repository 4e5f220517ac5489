// The command line's bundle for tests that start bin/kvm-guest.js as a user would: dist/cli.cjs,
// which `npm run build` writes (npm test builds first). A targeted run (node test/run.mjs test/cli)
// after an edit rebuilds it here when a source is newer, so no test runs a stale bundle.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
export const BIN = join(ROOT, 'bin', 'kvm-guest.js');
export const CLI_BUNDLE = join(ROOT, 'dist', 'cli.cjs');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Build dist/cli.cjs (scripts/build.mjs --only cli) if it is missing or older than a source it bundles. */
export function ensureCliBundle(): void {
  const built = existsSync(CLI_BUNDLE) ? statSync(CLI_BUNDLE).mtimeMs : -1;
  if (built >= Math.max(...['bin', 'vm-core', 'adapter'].map((d) => newestSource(join(ROOT, d))))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--only', 'cli'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/build.mjs --only cli failed:\n${r.stdout}\n${r.stderr}`);
}
