// The end-to-end set-up (test/e2e/setup.mjs) and the suite's verdict when it cannot run:
// child npm installs get an environment without the enclosing `npm run`'s npm_* variables (with
// npm_config_user_agent naming Node 20, code-server's postinstall refused Node 24 and npm rolled
// code-server back, so every test skipped), and in CI an unavailable suite fails instead of
// passing by skipping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(__dirname, '../..');
type Setup = {
  childEnv(env: NodeJS.ProcessEnv, o?: { prepend?: string[]; extra?: Record<string, string> }): Record<string, string>;
  unavailable(reason: string, env: NodeJS.ProcessEnv): { fail: boolean; message: string };
};
const load = () => import(pathToFileURL(join(ROOT, 'test/e2e/setup.mjs')).href) as Promise<Setup>;

test('a child npm gets no npm_* configuration of the npm run it was started from', async () => {
  const { childEnv } = await load();
  const env = childEnv({
    HOME: '/root', CI: 'true',
    npm_config_user_agent: 'npm/11.19.1 node/v20.20.2 linux x64 workspaces/false',
    npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js', npm_package_name: 'kvm-guest-debugger',
    NPM_CONFIG_PREFIX: '/x', npm_lifecycle_event: 'test:e2e', INIT_CWD: '/work', NODE: '/usr/bin/node',
    PATH: ['/work/node_modules/.bin', '/node_modules/.bin', '/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin', '/usr/local/bin', '/usr/bin'].join(':'),
  }, { prepend: ['/cache/node24/bin'], extra: { npm_config_nodedir: '/cache/node24' } });
  assert.deepEqual(env, {
    HOME: '/root', CI: 'true', PATH: '/cache/node24/bin:/usr/local/bin:/usr/bin', npm_config_nodedir: '/cache/node24',
  });
});

test('an unavailable suite skips outside CI and fails in CI, naming the reason', async () => {
  const { unavailable } = await load();
  assert.deepEqual(unavailable('no chromium', {}), { fail: false, message: 'skipped (outside CI): no chromium' });
  assert.equal(unavailable('no chromium', { CI: 'false' }).fail, false);
  assert.deepEqual(unavailable('no chromium', { CI: 'true' }), { fail: true, message: 'the end-to-end suite cannot run in CI (CI=true): no chromium' });
  assert.equal(unavailable('no chromium', { CI: '1' }).fail, true);
});

test('npm run test:e2e without its tools: exit 1 in CI with the reason, exit 0 with a skip outside', () => {
  const cache = mkdtempSync(join(tmpdir(), 'kvm-guest-e2e-empty-'));
  try {
    const run = (ci: Record<string, string>) => {
      const env: NodeJS.ProcessEnv = { ...process.env, KVM_GUEST_E2E_CACHE: cache, KVM_GUEST_E2E_NO_INSTALL: '1', ...ci };
      if (!('CI' in ci)) delete env.CI;
      delete env.NODE_TEST_CONTEXT; // its own node:test output, not this runner's child protocol
      return spawnSync(process.execPath, [join(ROOT, 'test/e2e/run.mjs')], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
    };
    const inCi = run({ CI: 'true' });
    assert.equal(inCi.status, 1, inCi.stdout + inCi.stderr);
    assert.match(inCi.stderr, /FAILED: the end-to-end suite cannot run in CI \(CI=true\): end-to-end tools unavailable on this machine: .*Node 24/);
    assert.match(inCi.stdout, /# fail 1/);
    const outside = run({});
    assert.equal(outside.status, 0, outside.stdout + outside.stderr);
    assert.match(outside.stderr, /SKIPPED: skipped \(outside CI\): end-to-end tools unavailable/);
    assert.match(outside.stdout, /# skipped 1/);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
