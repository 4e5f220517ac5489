#!/usr/bin/env node
// The extension test suite in a desktop VS Code through @vscode/test-electron, for machines
// where a VS Code can be had. This machine cannot download one (no network to VS Code's
// download host), so here it skips, saying so; the code-server suite (run.mjs) is the one that
// runs here and in CI.
//
//   VSCODE_EXECUTABLE_PATH=/path/to/code node test/e2e/electron.mjs   use an installed VS Code
//   KVM_GUEST_E2E_DOWNLOAD_VSCODE=1 node test/e2e/electron.mjs        let test-electron download one
// On Linux without a display, run it under xvfb-run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const exe = process.env.VSCODE_EXECUTABLE_PATH;
const download = process.env.KVM_GUEST_E2E_DOWNLOAD_VSCODE === '1';

let skip;
if (exe && !existsSync(exe)) skip = `VSCODE_EXECUTABLE_PATH=${exe} does not exist`;
else if (!exe && !download) {
  skip = 'no desktop VS Code on this machine, and it cannot be downloaded here (no network to VS Code\'s download host). ' +
    'Set VSCODE_EXECUTABLE_PATH to a VS Code executable, or KVM_GUEST_E2E_DOWNLOAD_VSCODE=1 where the download works. ' +
    'The code-server suite (npm run test:e2e) covers the extension in a real VS Code here.';
}

if (skip) {
  console.error(`# electron: SKIPPED: ${skip}`);
  test('extension suite in desktop VS Code (@vscode/test-electron)', { skip }, () => {});
} else {
  test('extension suite in desktop VS Code (@vscode/test-electron)', async () => {
    const build = spawnSync('npm', ['run', '--silent', 'build:ext'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, `npm run build:ext failed:\n${build.stdout}\n${build.stderr}`);
    const { runTests, downloadAndUnzipVSCode } = await import('@vscode/test-electron');
    const home = mkdtempSync(join(tmpdir(), 'kvm-guest-electron-'));
    try {
      const workspace = join(home, 'workspace');
      cpSync(join(ROOT, 'test', 'e2e', 'workspace'), workspace, { recursive: true });
      const vscodeExecutablePath = exe ?? (await downloadAndUnzipVSCode());
      const code = await runTests({
        vscodeExecutablePath,
        extensionDevelopmentPath: ROOT,
        extensionTestsPath: join(ROOT, 'test', 'e2e', 'electron', 'suite.cjs'),
        launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--user-data-dir', join(home, 'user-data')],
        extensionTestsEnv: { KVM_GUEST_E2E_WORKSPACE: workspace },
      });
      assert.equal(code, 0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
}
