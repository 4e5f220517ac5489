#!/usr/bin/env node
// End-to-end tests of the packaged extension in a real VS Code (code-server 4.139 in Debian's
// Chromium, driven by playwright-core), as a person would use it. A node:test file: run it with
// `node test/e2e/run.mjs` (npm run test:e2e); it prints node's test summary.
//
// What it does: sets up the tools once (test/e2e/setup.mjs, cached outside the repository),
// builds the .vsix (npm run package), installs it into a fresh code-server, opens a temporary
// copy of test/e2e/workspace/ and checks what a user sees; screenshots go to
// test/e2e/screenshots/. Where the tools cannot be had (not Linux x64, no root for apt-get, no
// registry), outside CI every test is skipped with the reason; in CI (CI=true) the suite fails
// with the reason: CI never passes without the end-to-end tests having run.
//
// Environment: KVM_GUEST_E2E_CACHE (tool cache), KVM_GUEST_E2E_KEEP=1 (keep the temporary
// home with code-server's log), KVM_GUEST_E2E_NO_BUILD=1 (use the existing dist/*.vsix),
// KVM_GUEST_E2E_NO_INSTALL=1 (install nothing: run only with what is already there),
// KVM_GUEST_E2E_TIMEOUT_SCALE=N (longer UI waits on a busy machine), CI.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSetup, e2ePaths, unavailable } from './setup.mjs';
import { zipEntries } from './zip.mjs';
import { uxScenarios } from './scenarios-ux.mjs';
import { cScenarios, prepareCGuest } from './scenarios-c.mjs';
import {
  contextMenu, installExtension, launchChromium, openFile, openWorkbench, prepareHome, retry, revealRow, runCommand,
  screenshot, setPaneExpanded, startCodeServer, stopCodeServer, stopCodeServerSync, waitFor,
} from './vscode-web.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHOTS = join(ROOT, 'test', 'e2e', 'screenshots');
const VSIX = join(ROOT, 'dist', 'kvm-guest-debugger.vsix');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const EXTENSION_ID = `${pkg.publisher}.${pkg.name}`;
const log = (msg) => console.error(`# e2e: ${msg}`);
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

// ---- set-up (before any test, so a missing tool skips them all with one reason) ----
let skip;
const paths = e2ePaths();
{
  const r = ensureSetup({ log });
  if (r.did.length) log(`set-up did: ${r.did.join('; ')} (${elapsed()})`);
  if (!r.ok) skip = `end-to-end tools unavailable on this machine: ${r.missing.join('; ')}`;
}
if (!skip && !process.env.KVM_GUEST_E2E_NO_BUILD) {
  log('npm run package');
  const b = spawnSync('npm', ['run', '--silent', 'package'], { cwd: ROOT, encoding: 'utf8' });
  if (b.status !== 0) {
    // Not a skip: a broken build is a failure.
    test('npm run package builds the .vsix', () => assert.fail(`npm run package failed:\n${b.stdout}\n${b.stderr}`));
    skip = 'the .vsix did not build';
  } else log(`built ${VSIX} (${elapsed()})`);
}
if (!skip && !existsSync(VSIX)) skip = `${VSIX} does not exist`;

if (skip) {
  const u = unavailable(skip);
  log(u.fail ? `FAILED: ${u.message}` : `SKIPPED: ${u.message}`);
  if (u.fail) test('end-to-end tests in code-server', () => assert.fail(u.message));
  else test('end-to-end tests in code-server', { skip: u.message }, () => {});
} else {
  const home = mkdtempSync(join(tmpdir(), 'kvm-guest-e2e-'));
  const workspace = join(home, 'workspace');
  cpSync(join(ROOT, 'test', 'e2e', 'workspace'), workspace, { recursive: true });
  if (existsSync(join(ROOT, 'examples'))) cpSync(join(ROOT, 'examples'), join(workspace, 'examples'), { recursive: true });
  const cGuest = prepareCGuest(ROOT, workspace); // before code-server starts: Quick Open then indexes vars.c
  prepareHome(home);
  const vsixFiles = zipEntries(VSIX).map((e) => e.name);
  const adapterShipped = vsixFiles.includes('extension/dist/adapter.js');

  let server;
  let browser;
  let page;
  process.on('exit', () => stopCodeServerSync(server));
  after(async () => {
    await browser?.close().catch(() => {});
    await stopCodeServer(server);
    if (process.env.KVM_GUEST_E2E_KEEP) log(`kept ${home} (code-server log: ${join(home, 'code-server.log')})`);
    else rmSync(home, { recursive: true, force: true });
    log(`done in ${elapsed()}`);
  });

  /** A UI test: on failure, a screenshot of what the workbench showed (FAILED-<test>.png). */
  const uiTest = (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      if (page) {
        const file = `FAILED-${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}.png`;
        await screenshot(page, SHOTS, file).then((f) => log(`failure screenshot: ${f}`), () => {});
      }
      throw e;
    }
  });

  test('the .vsix installs into code-server with --install-extension', () => {
    const { installed, output } = installExtension(paths, home, VSIX);
    assert.ok(installed.includes(`${EXTENSION_ID}@${pkg.version}`), `installed extensions: ${installed.join(', ') || '(none)'}\n${output}`);
    log(`installed ${EXTENSION_ID}@${pkg.version} (${elapsed()})`);
  });

  test('code-server serves the workbench with the test workspace', async () => {
    server = await startCodeServer(paths, home, { log });
    browser = await launchChromium(paths);
    page = await openWorkbench(browser, server, workspace);
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'hello.asm' }).waitFor({ state: 'visible' });
    log(`workbench up (${elapsed()})`);
    await screenshot(page, SHOTS, '01-workbench.png');
  });

  uiTest('a .asm file opens in the "Guest Assembly" language mode, colourised by the guest-asm grammar', async () => {
    assert.ok(page, 'the workbench did not open');
    await openFile(page, 'hello.asm');
    const mode = page.locator('.statusbar-item#status\\.editor\\.mode');
    await waitFor(async () => (await mode.innerText()).includes('Guest Assembly'), { what: 'the status bar language mode "Guest Assembly"' });
    // The grammar tokenises: comments, mnemonics, registers and numbers get different token classes.
    const classes = await waitFor(async () => {
      const c = await page.locator('.editor-instance .view-lines span[class^="mtk"]').evaluateAll((els) => [...new Set(els.map((e) => e.className))]);
      return c.length >= 4 ? c : undefined;
    }, { what: 'at least 4 distinct token colours in hello.asm' });
    log(`token classes in hello.asm: ${classes.join(' ')}`);
    await screenshot(page, SHOTS, '02-guest-asm-editor.png');
    // The scope inspector names the grammar's scope.
    await runCommand(page, 'Developer: Inspect Editor Tokens and Scopes');
    const inspector = page.locator('.token-inspect-widget');
    await inspector.waitFor({ state: 'visible' });
    await waitFor(async () => (await inspector.innerText()).includes('source.guest-asm'), { what: 'the scope source.guest-asm in the token inspector' });
    await screenshot(page, SHOTS, '03-token-scopes.png');
    await page.keyboard.press('Escape');
  });

  uiTest('the extension activates and reports assembler errors in the Problems view', async () => {
    assert.ok(page, 'the workbench did not open');
    await openFile(page, 'broken.asm');
    await runCommand(page, 'View: Focus Problems');
    const problems = page.locator('.markers-panel');
    await problems.waitFor({ state: 'visible' });
    // Loading the assembler in the extension host also loads iced-x86's WebAssembly module from the .vsix.
    await waitFor(async () => (await problems.innerText()).includes("unknown instruction or directive 'movx'"), { timeout: 45000, what: 'the assembler error for broken.asm in the Problems view' });
    const text = await problems.innerText();
    assert.match(text, /guest-asm/);
    assert.match(text, /Ln 5, Col 5|\[Ln 5, Col 5\]|5, 5/);
    await screenshot(page, SHOTS, '04-problems-assembler-error.png');
  });

  uiTest('Run and Debug offers the "KVM Guest" debugger and a configuration for the active guest file', async () => {
    assert.ok(page, 'the workbench did not open');
    await openFile(page, 'hello.asm');
    await runCommand(page, 'Debug: Select and Start Debugging');
    const rows = page.locator('.quick-input-list .monaco-list-row');
    // The dynamic configuration provider is listed by the debugger's label.
    const kvm = rows.filter({ hasText: 'KVM Guest' }).first();
    await waitFor(async () => (await kvm.count()) > 0, { what: '"KVM Guest" among the debuggers' });
    await screenshot(page, SHOTS, '05-select-debugger.png');
    await kvm.click();
    const active = rows.filter({ hasText: 'KVM Guest: hello.asm (active file)' }).first();
    await active.waitFor({ state: 'visible' });
    // One dynamic configuration per examples/*.asm of the workspace.
    const examples = existsSync(join(workspace, 'examples')) ? readdirSync(join(workspace, 'examples')).filter((f) => /\.(asm|nasm)$/.test(f)) : [];
    const labels = await rows.allInnerTexts();
    for (const ex of examples) assert.ok(labels.some((l) => l.includes(`KVM Guest: examples/${ex}`)), `dynamic configuration for examples/${ex} in:\n${labels.join('\n')}`);
    log(`dynamic configurations: ${labels.length} (${examples.length} examples)`);
    await screenshot(page, SHOTS, '06-dynamic-configurations.png');
    await page.keyboard.press('Escape');
  });

  uiTest('breakpoints can be set on lines of a .asm file and are listed in the Breakpoints view', async () => {
    assert.ok(page, 'the workbench did not open');
    await openFile(page, 'hello.asm');
    await runCommand(page, 'Go to Line/Column...');
    await page.keyboard.type('12');
    await page.keyboard.press('Enter');
    await runCommand(page, 'Debug: Toggle Breakpoint');
    // The glyph margin shows the breakpoint only for languages the extension contributes breakpoints for.
    await page.locator('.editor-instance .codicon-debug-breakpoint').first().waitFor({ state: 'visible' });
    await runCommand(page, 'View: Show Run and Debug');
    const bps = page.locator('.debug-breakpoints');
    await bps.waitFor({ state: 'visible' });
    await waitFor(async () => /hello\.asm\s*12/.test(await bps.innerText()), { what: 'hello.asm 12 in the Breakpoints view' });
    await screenshot(page, SHOTS, '08-breakpoint-in-guest-asm.png');
    await runCommand(page, 'View: Show Explorer');
  });

  if (!adapterShipped) {
    uiTest('F5 on a guest file with no launch.json resolves a kvm-guest configuration and says the adapter is not built yet', async () => {
      assert.ok(page, 'the workbench did not open');
      await openFile(page, 'hello.asm');
      await page.locator('.editor-instance .view-lines').first().click();
      await page.keyboard.press('F5');
      // VS Code shows a failed debug start in a dialog (with "Open 'launch.json'").
      const dialog = page.locator('.monaco-dialog-box', { hasText: 'adapter not built yet' }).first();
      await dialog.waitFor({ state: 'visible', timeout: 30000 });
      await screenshot(page, SHOTS, '07-f5-adapter-not-built.png');
      await page.keyboard.press('Escape');
    });
  } else {
    const callStackFrame = (text) => page.locator(`.debug-call-stack .monaco-list-row[aria-label*="${text}"]`).first();
    const debugEnded = () => page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 20000 });
    const variables = () => page.locator('.debug-variables');
    /**
     * Expands the Variables scope `name` and collapses the others (the view is short: rows beyond
     * it are not rendered). VS Code auto-expands the first scope shortly after a stop, so this
     * repeats until only `name` has stayed expanded for a moment.
     */
    const showScope = async (name) => {
      const vars = variables();
      const label = `Scope ${name}`;
      await vars.locator('.monaco-list-row[aria-level="1"]').first().waitFor({ state: 'visible' });
      await waitFor(async () => {
        for (const row of await vars.locator('.monaco-list-row[aria-level="1"][aria-expanded="true"]').all()) {
          if ((await row.getAttribute('aria-label')) !== label) await row.click({ timeout: 2000 });
        }
        const scope = vars.locator(`.monaco-list-row[aria-level="1"][aria-label="${label}"]`);
        if ((await scope.getAttribute('aria-expanded', { timeout: 2000 })) !== 'true') await scope.click({ timeout: 2000 });
        await page.waitForTimeout(400);
        const expanded = await vars.locator('.monaco-list-row[aria-level="1"][aria-expanded="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
        return expanded.length === 1 && expanded[0] === label;
      }, { timeout: 20000, interval: 100, what: `only the scope ${name} expanded in the Variables view` });
    };

    uiTest('F5 on a guest file with no launch.json debugs it: paused on entry at its first instruction', async () => {
      assert.ok(page, 'the workbench did not open');
      await openFile(page, 'hello.asm');
      await page.locator('.editor-instance .view-lines').first().click();
      await page.keyboard.press('F5');
      await runCommand(page, 'View: Show Run and Debug');
      await callStackFrame('line 7, hello.asm').waitFor({ state: 'visible', timeout: 30000 });
      await waitFor(async () => /Stopped on entry/i.test(await page.locator('.pane-header', { hasText: /^Call Stack/ }).textContent()), { what: 'Call Stack: stopped on entry' });
      await screenshot(page, SHOTS, '09-f5-paused-on-entry.png');
      await page.keyboard.press('Shift+F5');
      await debugEnded();
    });

    uiTest('launching a guest with assembler errors fails naming file:line, and the Problems view lists them', async () => {
      assert.ok(page, 'the workbench did not open');
      await openFile(page, 'broken.asm');
      await page.locator('.editor-instance .view-lines').first().click();
      await page.keyboard.press('F5');
      const dialog = page.locator('.monaco-dialog-box').first();
      await dialog.waitFor({ state: 'visible', timeout: 30000 });
      assert.match(await dialog.innerText(), /broken\.asm:5:5: error: unknown instruction or directive 'movx'/);
      await screenshot(page, SHOTS, '10-launch-error-file-line.png');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await runCommand(page, 'View: Focus Problems');
      await waitFor(async () => (await page.locator('.markers-panel').innerText()).includes("unknown instruction or directive 'movx'"), { what: 'the error in the Problems view' });
    });

    uiTest('debugging seed 003: source breakpoint, register cache scope, exit filter with a condition, hypercall exit, edited reply, step, VM Exits view', async () => {
      assert.ok(page, 'the workbench did not open');
      // A launch configuration with KVM_CAP_EXIT_HYPERCALL, so KVM_HC_MAP_GPA_RANGE exits to userspace.
      const CONFIG = 'Seed 003: KVM_HC_MAP_GPA_RANGE exit';
      mkdirSync(join(workspace, '.vscode'), { recursive: true });
      writeFileSync(join(workspace, '.vscode', 'launch.json'), JSON.stringify({
        version: '0.2.0',
        configurations: [{ type: 'kvm-guest', request: 'launch', name: CONFIG, program: '${workspaceFolder}/examples/seed003-map-gpa-range.asm', caps: ['KVM_CAP_EXIT_HYPERCALL=0x1000'] }],
      }, null, 2));
      await runCommand(page, 'View: Show Run and Debug');
      await page.locator('.start-debug-action-item-label', { hasText: CONFIG }).waitFor({ state: 'visible' });
      // Room for the debug views in the screenshots: a wider side bar, Watch collapsed, the panel closed.
      const sb = await page.locator('.part.sidebar').boundingBox();
      if (sb && sb.width < 400) {
        await page.mouse.move(sb.x + sb.width + 1, sb.y + 200);
        await page.mouse.down();
        await page.mouse.move(sb.x + 430, sb.y + 200, { steps: 5 });
        await page.mouse.up();
      }
      await setPaneExpanded(page, 'Watch', false);
      if (await page.locator('.part.panel').isVisible()) await runCommand(page, 'View: Hide Panel');

      log(`launch configuration selected, layout set (${elapsed()})`);
      // 1. A source breakpoint on line 8 (mov rbx, 0x200000), then F5.
      const FILE = 'seed003-map-gpa-range.asm';
      await openFile(page, FILE);
      await runCommand(page, 'Go to Line/Column...');
      await page.keyboard.type('8');
      await page.keyboard.press('Enter');
      await runCommand(page, 'Debug: Toggle Breakpoint');
      await page.locator('.editor-instance .codicon-debug-breakpoint').first().waitFor({ state: 'visible' });
      await page.locator('.editor-instance .view-lines').first().click();
      await page.keyboard.press('F5');
      await callStackFrame(`line 8, ${FILE}`).waitFor({ state: 'visible', timeout: 30000 });
      log(`paused on ${FILE}:8 (${elapsed()})`);

      // 2. The Variables view has the KVM register cache scope.
      await showScope('KVM register cache');
      await variables().locator('.monaco-list-row[aria-label^="regs_avail, value 0x"]').waitFor({ state: 'visible' });
      await screenshot(page, SHOTS, '11-paused-on-breakpoint-register-cache.png');

      // 3. The exit filter KVM_EXIT_HYPERCALL, enabled with the condition nr == 12 in the Breakpoints view.
      const bps = page.locator('.debug-breakpoints');
      const filterRow = () => bps.locator('.monaco-list-row[aria-label^="KVM_EXIT_HYPERCALL"]');
      await retry(page, async () => {
        const row = await revealRow(page, bps, filterRow(), { what: 'the KVM_EXIT_HYPERCALL exception breakpoint' });
        if ((await row.getAttribute('aria-checked')) !== 'true') await row.locator('.monaco-checkbox').click();
        await waitFor(async () => (await filterRow().getAttribute('aria-checked')) === 'true', { timeout: 5000, what: 'KVM_EXIT_HYPERCALL ticked' });
      }, { what: 'enable KVM_EXIT_HYPERCALL', log });
      await retry(page, async () => {
        const row = await revealRow(page, bps, filterRow(), { what: 'the KVM_EXIT_HYPERCALL exception breakpoint' });
        await contextMenu(page, row, 'Edit Condition...');
        const input = bps.locator('.monaco-list-row input').first();
        await input.waitFor({ state: 'visible', timeout: 5000 });
        await input.fill('nr == 12');
        await input.press('Enter');
        await waitFor(async () => (await filterRow().locator('.condition').textContent()) === 'nr == 12', { timeout: 5000, what: 'the condition nr == 12 on the row' });
      }, { what: 'edit the exit filter condition', log });
      await screenshot(page, SHOTS, '12-exit-filter-condition.png');

      // 4. Continue: stops at the hypercall exit to userspace, before the VMM answers it.
      await page.locator('.editor-instance .view-lines').first().click();
      await page.keyboard.press('F5');
      const callStackHeader = page.locator('.pane-header', { hasText: /^Call Stack/ });
      await waitFor(async () => /KVM_EXIT_HYPERCALL nr=12/.test(await callStackHeader.textContent()), { what: 'paused on the KVM_EXIT_HYPERCALL exit' });
      await callStackFrame('Stack Frame KVM: kvm_emulate_hypercall').waitFor({ state: 'visible' });
      await callStackFrame(`line 11, ${FILE}`).waitFor({ state: 'visible' });
      await page.locator('.exception-widget', { hasText: 'KVM_EXIT_HYPERCALL' }).waitFor({ state: 'visible' });
      log(`paused on the hypercall exit (${elapsed()})`);

      // 5. Edit the reply: hypercall.ret = 0x2a (Set Value in the Variables view).
      await showScope('Current exit (kvm_run)');
      const vars = variables();
      const retRow = () => vars.locator('.monaco-list-row[aria-label^="hypercall.ret, value"]');
      await revealRow(page, vars, retRow(), { what: 'hypercall.ret in the Variables view' });
      await screenshot(page, SHOTS, '13-hypercall-exit.png');
      await retry(page, async () => {
        const row = await revealRow(page, vars, retRow(), { what: 'hypercall.ret in the Variables view' });
        await contextMenu(page, row, 'Set Value');
        const input = vars.locator('.monaco-list-row input').first();
        await input.waitFor({ state: 'visible', timeout: 5000 });
        await input.fill('0x2a');
        await input.press('Enter');
        await vars.locator('.monaco-list-row[aria-label="hypercall.ret, value 0x2a"]').waitFor({ state: 'visible', timeout: 5000 });
      }, { what: 'set hypercall.ret', log });
      await screenshot(page, SHOTS, '14-hypercall-reply-edited.png');
      log(`hypercall.ret = 0x2a (${elapsed()})`);

      // 6. Step: KVM completes the hypercall with the reply; RAX = 0x2a at the next line.
      await page.keyboard.press('F10');
      await callStackFrame(`line 12, ${FILE}`).waitFor({ state: 'visible', timeout: 15000 });
      await showScope('Registers');
      await variables().locator('.monaco-list-row[aria-label="rax, value 0x2a"]').waitFor({ state: 'visible' });
      log(`stepped: rax = 0x2a (${elapsed()})`);
      await screenshot(page, SHOTS, '15-stepped-rax-reply.png');

      // 7. The VM Exits view lists the hypercall exit; the Register Cache view shows what changed.
      await runCommand(page, 'Focus on VM Exits View');
      const exitRow = page.locator('.monaco-list-row[aria-label^="KVM_EXIT_HYPERCALL #"]').first();
      await exitRow.waitFor({ state: 'visible' });
      assert.match(await exitRow.getAttribute('aria-label'), /rip 0x100014\s+nr=12 args=\[0x200000,0x10,0x10/);
      await setPaneExpanded(page, 'Breakpoints', false);
      await setPaneExpanded(page, 'Register Cache', true);
      await page.locator('.monaco-list-row[aria-label^="VCPU_REGS_RAX"]').waitFor({ state: 'visible' });
      await screenshot(page, SHOTS, '16-vm-exits-and-register-cache.png');

      // 8. The VMM injects an NMI (the command answers with the adapter's result).
      await runCommand(page, 'KVM Guest: Inject NMI');
      await page.locator('.statusbar-item', { hasText: 'KVM Guest: NMI pending' }).first().waitFor({ state: 'visible', timeout: 10000 });

      // 9. The exit statistics panel.
      await runCommand(page, 'KVM Guest: Show Exit Statistics');
      const stats = page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
      await stats.locator('svg[aria-label="VM exits by reason"] text', { hasText: 'KVM_EXIT_HYPERCALL' }).waitFor({ state: 'visible' });
      await screenshot(page, SHOTS, '17-exit-statistics.png');

      await page.keyboard.press('Shift+F5');
      await debugEnded();
      await setPaneExpanded(page, 'Breakpoints', true);
    });

    uxScenarios({ uiTest, page: () => page, ROOT, SHOTS, workspace, log, callStackFrame, debugEnded, variables, showScope });
    cScenarios({ uiTest, page: () => page, SHOTS, workspace, log, callStackFrame, debugEnded, variables, showScope, cGuest });
  }
}
