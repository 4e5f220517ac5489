// A real VS Code for end-to-end tests: code-server (VS Code's workbench served to a browser)
// started on 127.0.0.1 in its own process group, with its own user-data and extensions
// directories, and Debian's Chromium driven by playwright-core. Helpers to act on the workbench
// the way a person does (command palette, explorer, views) and to take screenshots.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * Multiplies the UI waits (page default, waitFor's default, the workbench's first load): set
 * KVM_GUEST_E2E_TIMEOUT_SCALE=3 on a slow or busy machine. A broken step still fails, later.
 */
export const TIMEOUT_SCALE = Math.max(1, Number(process.env.KVM_GUEST_E2E_TIMEOUT_SCALE) || 1);

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** User settings for a quiet, deterministic workbench. */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'editor.minimap.enabled': false,
  'window.commandCenter': false,
  'workbench.colorTheme': 'Default Dark Modern',
};

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Environment for code-server: its config and data under `home`, nothing in the user's own dirs. */
function codeServerEnv(paths, home) {
  return {
    ...process.env,
    PATH: join(paths.nodeDist, 'bin') + ':' + (process.env.PATH ?? ''),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CACHE_HOME: join(home, 'cache'),
    NODE_OPTIONS: '',
    // No extension marketplace: point code-server's gallery at a closed loopback port so it never
    // tries to reach open-vsx.org.
    EXTENSIONS_GALLERY: JSON.stringify({
      serviceUrl: 'http://127.0.0.1:9/gallery', itemUrl: 'http://127.0.0.1:9/item',
      resourceUrlTemplate: 'http://127.0.0.1:9/{publisher}/{name}/{version}/{path}',
    }),
  };
}

function dirArgs(home) {
  return ['--user-data-dir', join(home, 'user-data'), '--extensions-dir', join(home, 'extensions'), '--config', join(home, 'config.yaml')];
}

export function prepareHome(home) {
  for (const d of ['user-data/User', 'extensions', 'config', 'data', 'cache']) mkdirSync(join(home, d), { recursive: true });
  writeFileSync(join(home, 'user-data', 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
  writeFileSync(join(home, 'config.yaml'), 'auth: none\ncert: false\n');
}

/** `code-server --install-extension VSIX`, then the installed list. */
export function installExtension(paths, home, vsix) {
  const env = codeServerEnv(paths, home);
  const r = spawnSync(paths.node, [paths.codeServerEntry, ...dirArgs(home), '--install-extension', vsix, '--force'], { env, encoding: 'utf8', timeout: 120000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`code-server --install-extension failed (${r.status ?? r.signal}):\n${out}`);
  const list = spawnSync(paths.node, [paths.codeServerEntry, ...dirArgs(home), '--list-extensions', '--show-versions'], { env, encoding: 'utf8', timeout: 60000 });
  return { output: out.trim(), installed: (list.stdout ?? '').split('\n').map((l) => l.trim()).filter(Boolean) };
}

/** Starts code-server in its own process group; resolves when it answers /healthz. */
export async function startCodeServer(paths, home, { log = () => {} } = {}) {
  const port = await freePort();
  const logFile = join(home, 'code-server.log');
  const fd = openSync(logFile, 'a');
  const args = [
    paths.codeServerEntry, ...dirArgs(home),
    '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override', '--reconnection-grace-time', '5',
  ];
  const child = spawn(paths.node, args, { env: codeServerEnv(paths, home), stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const server = { port, pid: child.pid, url: `http://127.0.0.1:${port}`, logFile, exited: false };
  child.on('exit', () => { server.exited = true; });
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (server.exited) throw new Error(`code-server exited at start:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    try {
      const res = await fetch(`${server.url}/healthz`);
      if (res.ok) {
        log(`code-server on ${server.url} (pid ${server.pid})`);
        return server;
      }
    } catch { /* not listening yet */ }
    await sleep(200);
  }
  stopCodeServer(server);
  throw new Error(`code-server did not answer on ${server.url} within 60 s:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
}

/** Stops the whole process group (code-server, its extension hosts, watchers). */
export async function stopCodeServer(server) {
  if (!server?.pid || server.stopped) return;
  server.stopped = true;
  const alive = () => { try { process.kill(-server.pid, 0); return true; } catch { return false; } };
  try { process.kill(-server.pid, 'SIGTERM'); } catch { return; }
  for (let i = 0; i < 50 && alive(); i++) await sleep(100);
  if (alive()) try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ }
}

export function stopCodeServerSync(server) {
  if (!server?.pid || server.stopped) return;
  server.stopped = true;
  try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ }
}

export async function launchChromium(paths) {
  const require = createRequire(join(paths.codeServerDir, 'package.json'));
  const { chromium } = require('playwright-core');
  if (!existsSync(paths.chromium)) throw new Error(`${paths.chromium} not found`);
  return chromium.launch({ executablePath: paths.chromium, headless: true, args: CHROMIUM_ARGS });
}

/** The workbench page for `folder`, once the workbench is drawn. */
export async function openWorkbench(browser, server, folder) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(30000 * TIMEOUT_SCALE);
  // The first load fetches the workbench's scripts; 'domcontentloaded' does not wait for every one.
  await page.goto(`${server.url}/?folder=${encodeURIComponent(folder)}`, { waitUntil: 'domcontentloaded', timeout: 60000 * TIMEOUT_SCALE });
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60000 * TIMEOUT_SCALE });
  await page.locator('.statusbar').waitFor({ state: 'visible' });
  return page;
}

/** Types into the quick input, waits until the focused row is the wanted one, and accepts it. */
async function pickInQuickInput(page, text, rowText) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(text);
  // The list filters asynchronously: accept only once the focused (first) row is the wanted one,
  // or Enter may take a row of the previous, unfiltered list.
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: rowText }).first().waitFor({ state: 'visible' });
  await input.press('Enter');
}

/** Runs a command by its title from the command palette (F1), as a person would. */
export async function runCommand(page, title) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  await pickInQuickInput(page, `>${title}`, title);
}

/** Opens a workspace file through Go to File (Quick Open), as a person would. */
export async function openFile(page, name) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  // Quick Open without the '>' prefix searches files.
  await pickInQuickInput(page, name, name);
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor({ state: 'visible' });
}

export async function screenshot(page, dir, name) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  await page.waitForTimeout(300); // let fades and list animations finish
  await page.screenshot({ path: file });
  return file;
}

/** Polls `fn` until it returns a truthy value or the time is up (the extension host registers contributions a few seconds after the workbench appears). */
export async function waitFor(fn, { timeout = 30000 * TIMEOUT_SCALE, interval = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

/** Runs `fn` up to `attempts` times (flaky UI interactions: menus, inline inputs); Escape between tries. */
export async function retry(page, fn, { attempts = 3, what = 'UI interaction', log = () => {} } = {}) {
  let last;
  for (let i = 1; i <= attempts; i++) {
    try {
      return await fn(i);
    } catch (e) {
      last = e;
      log(`${what}: attempt ${i} of ${attempts} failed: ${String(e.message).split('\n')[0]}`);
      await page.keyboard.press('Escape').catch(() => {});
      await sleep(300);
    }
  }
  throw last;
}

/**
 * Scrolls a virtualised list (Variables, Breakpoints, ...) with the mouse wheel until `row` is
 * rendered and visible: down first, then back up, then down again, a bounded number of steps.
 */
export async function revealRow(page, container, row, { what = 'the row', steps = 40 } = {}) {
  const list = container.locator('.monaco-list').first();
  for (const dir of [1, -1, 1]) {
    for (let i = 0; i < steps; i++) {
      if ((await row.count()) > 0 && (await row.first().isVisible())) return row.first();
      const box = await list.boundingBox();
      if (box) {
        await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 40));
        await page.mouse.wheel(0, dir * 44);
      }
      await sleep(60);
    }
  }
  throw new Error(`${what} did not appear in the list`);
}

/**
 * Right-clicks `target` and runs the context-menu item labelled `label`. A menu ignores a click
 * that comes right after it opened, so the item is clicked until the menu closes (a few times).
 */
export async function contextMenu(page, target, label) {
  await target.click({ button: 'right' });
  const menu = page.locator('.monaco-menu').first();
  const item = menu.locator('.action-item', { hasText: label }).first();
  await item.waitFor({ state: 'visible', timeout: 5000 });
  for (let i = 0; i < 5; i++) {
    await item.click({ timeout: 2000 }).catch(() => {});
    if (await menu.waitFor({ state: 'hidden', timeout: 1000 }).then(() => true, () => false)) return;
  }
  throw new Error(`the context menu item "${label}" did not run`);
}

/** Expands or collapses a view of the side bar by its title (the pane header). */
export async function setPaneExpanded(page, title, expanded) {
  const header = page.locator('.pane-header', { hasText: new RegExp(`^${title}`) }).first();
  await header.waitFor({ state: 'visible' });
  if (((await header.getAttribute('aria-expanded')) === 'true') !== expanded) await header.click();
  await waitFor(async () => ((await header.getAttribute('aria-expanded')) === 'true') === expanded, { timeout: 5000, what: `${title} ${expanded ? 'expanded' : 'collapsed'}` });
}
