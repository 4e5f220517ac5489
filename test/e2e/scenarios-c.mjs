// End-to-end scenario of issue 15, run by run.mjs in the same code-server: debugging a C guest
// (test/debug/c-guest/vars.c, built with gcc -O0 -g into the workspace before code-server starts,
// so the DWARF names the workspace's copy of the source): a breakpoint set in the .c file stops
// there, the Locals scope shows the C locals, a Watch on a struct field (fl.b) shows its value,
// and a step over the line's function call (F10) stops on the next line of the same function with
// the locals updated.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, screenshot, setPaneExpanded, waitFor, openFile } from './vscode-web.mjs';

const CONFIG = 'C guest: vars.c';

/**
 * Copies vars.c into `workspace`/c and builds c/vars.elf there (64-bit, -O0, DWARF 5, linked at
 * 1 MiB as the adapter tests build it). Returns undefined, or why it could not (no gcc).
 */
export function prepareCGuest(ROOT, workspace) {
  const dir = join(workspace, 'c');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(ROOT, 'test', 'debug', 'c-guest', 'vars.c'), join(dir, 'vars.c'));
  const args = ['-m64', '-O0', '-g', '-gdwarf-5', '-ffreestanding', '-fno-pic', '-no-pie', '-nostdlib', '-static', '-fno-stack-protector',
    '-mno-red-zone', '-Wl,-Ttext=0x100000', '-Wl,--build-id=none', '-o', 'vars.elf', 'vars.c'];
  const r = spawnSync('gcc', args, { cwd: dir, encoding: 'utf8' });
  if (r.error) return 'gcc is not installed';
  if (r.status !== 0) return `gcc ${args.join(' ')} failed: ${r.stderr.trim().split('\n')[0]}`;
  return undefined;
}

/**
 * @param {object} ctx what run.mjs shares: uiTest, page(), SHOTS, workspace, log, callStackFrame(text),
 *   debugEnded(), variables(), showScope(name); and cGuest: the reason the guest could not be built, if any
 */
export function cScenarios(ctx) {
  const { uiTest, SHOTS, workspace, log, callStackFrame, debugEnded, variables, showScope } = ctx;
  uiTest('a C guest: breakpoint in the .c file, Locals, a Watch on a struct field, a step over a function call', async (t) => {
    const page = ctx.page();
    assert.ok(page, 'the workbench did not open');
    if (ctx.cGuest) {
      if (process.env.CI) assert.fail(`the C guest could not be built: ${ctx.cGuest}`);
      t.skip(ctx.cGuest);
      return;
    }
    const src = readFileSync(join(workspace, 'c', 'vars.c'), 'utf8').split('\n');
    const walkLine = src.findIndex((l) => l.includes('/* @walk */')) + 1;
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    writeFileSync(join(workspace, '.vscode', 'launch.json'), JSON.stringify({
      version: '0.2.0',
      configurations: [{ type: 'kvm-guest', request: 'launch', name: CONFIG, program: '${workspaceFolder}/c/vars.elf' }],
    }, null, 2));
    await runCommand(page, 'View: Show Run and Debug');
    await page.locator('.start-debug-action-item-label', { hasText: CONFIG }).waitFor({ state: 'visible' });

    // 1. A breakpoint on walk's line `sum += fp(sum, fl.c) + ...` in vars.c, then F5.
    await openFile(page, 'vars.c');
    await runCommand(page, 'Go to Line/Column...');
    await page.keyboard.type(String(walkLine));
    await page.keyboard.press('Enter');
    await runCommand(page, 'Debug: Toggle Breakpoint');
    await page.locator('.editor-instance .codicon-debug-breakpoint').first().waitFor({ state: 'visible' });
    await page.locator('.editor-instance .view-lines').first().click();
    await page.keyboard.press('F5');
    await callStackFrame(`walk, line ${walkLine}, vars.c`).waitFor({ state: 'visible', timeout: 30000 });
    await callStackFrame('_start').waitFor({ state: 'visible' });
    log(`paused in walk at vars.c:${walkLine}`);

    // 2. Locals: the C locals of walk with their values (the loop summed 10 + 20 + 30).
    await showScope('Locals');
    await variables().locator('.monaco-list-row[aria-label^="sum, value 60"]').waitFor({ state: 'visible', timeout: 10000 });
    await variables().locator('.monaco-list-row[aria-label^="fl, value {a = 5, b = 17, c = -3}"]').waitFor({ state: 'visible' });
    await screenshot(page, SHOTS, '21-c-breakpoint-locals.png');

    // 3. A Watch on a struct field.
    await setPaneExpanded(page, 'Watch', true);
    const watch = page.locator('.debug-watch');
    await page.locator('.pane-header', { hasText: /^Watch/ }).locator('.action-label[aria-label*="Add Expression"]').first().click();
    const input = watch.locator('input, textarea').first();
    await input.waitFor({ state: 'visible', timeout: 5000 });
    await input.fill('fl.b');
    await input.press('Enter');
    await waitFor(async () => /fl\.b\s*[:=]?\s*17/.test(await watch.innerText()), { what: 'the Watch fl.b = 17' });
    log('watch fl.b = 17');

    // 4. Step over the line (it calls add through fp): the next line of walk, sum updated
    // (60 + add(60, -3) + 1 + BLUE + 1 = 122).
    await page.locator('.editor-instance .view-lines').first().click();
    await page.keyboard.press('F10');
    await callStackFrame(`walk, line ${walkLine + 1}, vars.c`).waitFor({ state: 'visible', timeout: 15000 });
    await showScope('Locals');
    await variables().locator('.monaco-list-row[aria-label^="sum, value 122"]').waitFor({ state: 'visible', timeout: 10000 });
    await waitFor(async () => /fl\.b\s*[:=]?\s*17/.test(await watch.innerText()), { what: 'the Watch fl.b after the step' });
    await screenshot(page, SHOTS, '22-c-step-over-watch.png');
    log(`stepped over the call to vars.c:${walkLine + 1}, sum = 122`);
    await setPaneExpanded(page, 'Watch', false);

    await page.keyboard.press('Shift+F5');
    await debugEnded();
    await runCommand(page, 'View: Close All Editors').catch(() => {});
  });
}
