// End-to-end scenarios of issue 11 (what a KVM developer hits first in VS Code), run by run.mjs in
// the same code-server: a guest that does CPUID, RDMSR/WRMSR, OUT to the serial port and VMCALL
// (test/adapter/guests/vmm-exits.asm). A Watch expression that cannot be evaluated shows its error
// inline (no notification); the memory view follows RIP; a stop at the serial port's I/O exit
// names the port in hex; the VM Exits view lists hardware exits too and keeps the last run after
// the guest ended.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { retry, revealRow, runCommand, screenshot, setPaneExpanded, waitFor } from './vscode-web.mjs';

/**
 * @param {object} ctx what run.mjs shares: uiTest, page() (the workbench page), ROOT, SHOTS, workspace,
 *   log, callStackFrame(text), debugEnded(), variables(), showScope(name)
 */
export function uxScenarios(ctx) {
  const { uiTest, ROOT, SHOTS, workspace, log, callStackFrame, debugEnded, showScope } = ctx;
  const CONFIG = 'VMM exits: CPUID, MSR, serial port, hypercall';
  const FILE = 'vmm-exits.asm';
  /** Notification toasts on screen (an error toast is what the Watch must not cause). */
  const toasts = (page) => page.locator('.notifications-toasts .notification-toast');

  uiTest('Watch errors inline, the memory view, a stop at the serial port I/O exit (port=0x3f8), the VM Exits view after the guest ended', async () => {
    const page = ctx.page();
    assert.ok(page, 'the workbench did not open');
    copyFileSync(join(ROOT, 'test', 'adapter', 'guests', FILE), join(workspace, FILE));
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    writeFileSync(join(workspace, '.vscode', 'launch.json'), JSON.stringify({
      version: '0.2.0',
      configurations: [{ type: 'kvm-guest', request: 'launch', name: CONFIG, program: `\${workspaceFolder}/${FILE}`, stopOnEntry: true, caps: ['KVM_CAP_EXIT_HYPERCALL=0x1000'] }],
    }, null, 2));
    await runCommand(page, 'View: Show Run and Debug');
    await page.locator('.start-debug-action-item-label', { hasText: CONFIG }).waitFor({ state: 'visible' });
    // F5 starts the selected configuration (the guest file was just copied: Quick Open may not index it yet).
    await page.locator('.editor-instance .view-lines').first().click();
    await page.keyboard.press('F5');
    await callStackFrame(`line 7, ${FILE}`).waitFor({ state: 'visible', timeout: 30000 });
    log(`paused on entry in ${FILE}`);

    // 1. A Watch expression that cannot be evaluated: its error inline, no notification toast.
    await setPaneExpanded(page, 'Watch', true);
    const watch = page.locator('.debug-watch');
    await page.locator('.pane-header', { hasText: /^Watch/ }).locator('.action-label[aria-label*="Add Expression"]').first().click();
    const input = watch.locator('input, textarea').first();
    await input.waitFor({ state: 'visible', timeout: 5000 });
    await input.fill('qword [0x7fff00000000]');
    await input.press('Enter');
    await waitFor(async () => /not (mapped|readable)/i.test(await watch.innerText()), { what: 'the Watch error inline' });
    // Another stop re-evaluates the watch: still no toast.
    await page.keyboard.press('F11');
    await callStackFrame(`line 8, ${FILE}`).waitFor({ state: 'visible', timeout: 15000 });
    await waitFor(async () => /not (mapped|readable)/i.test(await watch.innerText()), { what: 'the Watch error inline after a step' });
    await page.waitForTimeout(800);
    const shown = await toasts(page).allInnerTexts();
    assert.ok(!shown.some((t) => /not (mapped|readable)|qword/i.test(t)), `no error toast for the watch, got: ${shown.join(' | ')}`);
    log('watch error shown inline, no toast');
    await setPaneExpanded(page, 'Watch', false);

    // 2. The memory view on RIP: hex and ASCII; it follows RIP at the next stop.
    await runCommand(page, 'KVM Guest: Show Memory');
    const box = page.locator('.quick-input-widget input').first();
    await box.waitFor({ state: 'visible' });
    await box.fill('rip');
    await box.press('Enter');
    const mem = page.frameLocator('iframe.webview').last().frameLocator('iframe#active-frame');
    await mem.locator('table.dump td.addr', { hasText: '0x00100000' }).first().waitFor({ state: 'visible', timeout: 20000 });
    await waitFor(async () => /rip = 0x100005/.test(await mem.locator('.sub').first().innerText()), { what: 'the memory view at RIP 0x100005' });
    await page.keyboard.press('F11');
    await callStackFrame(`line 9, ${FILE}`).waitFor({ state: 'visible', timeout: 15000 });
    await waitFor(async () => /rip = 0x10000a/.test(await mem.locator('.sub').first().innerText()), { what: 'the memory view following RIP to 0x10000a' });
    await screenshot(page, SHOTS, '18-memory-view.png');
    log('memory view follows rip');

    // 3. Stop at the serial port's exit to userspace: KVM_EXIT_IO ticked in the Breakpoints view.
    const bps = page.locator('.debug-breakpoints');
    await setPaneExpanded(page, 'Breakpoints', true);
    const ioRow = () => bps.locator('.monaco-list-row[aria-label^="KVM_EXIT_IO"]');
    await retry(page, async () => {
      const row = await revealRow(page, bps, ioRow(), { what: 'the KVM_EXIT_IO exception breakpoint' });
      if ((await row.getAttribute('aria-checked')) !== 'true') await row.locator('.monaco-checkbox').click();
      await waitFor(async () => (await ioRow().getAttribute('aria-checked')) === 'true', { timeout: 5000, what: 'KVM_EXIT_IO ticked' });
    }, { what: 'enable KVM_EXIT_IO', log });
    await page.locator('.editor-instance .view-lines').first().click();
    await page.keyboard.press('F5');
    const header = page.locator('.pane-header', { hasText: /^Call Stack/ });
    await waitFor(async () => /KVM_EXIT_IO port=0x3f8/.test(await header.textContent()), { what: 'paused on KVM_EXIT_IO port=0x3f8' });
    await setPaneExpanded(page, 'Breakpoints', false);
    await showScope('Current exit (kvm_run)');
    await ctx.variables().locator('.monaco-list-row[aria-label^="io.port, value 0x3f8"]').first().waitFor({ state: 'visible', timeout: 10000 }).catch(() => {});
    await screenshot(page, SHOTS, '19-stopped-at-io-exit.png');
    log('paused at the serial port exit');

    // 4. The VM Exits view: hardware exits too, the port in hex.
    await runCommand(page, 'Focus on VM Exits View');
    await page.locator('.monaco-list-row[aria-label^="KVM_EXIT_IO"]', { hasText: 'port=0x3f8' }).first().waitFor({ state: 'visible' });
    await page.locator('.monaco-list-row[aria-label^="EXIT_REASON_CPUID"]').first().waitFor({ state: 'visible' });

    // 5. The next stop is at another exit (the hypercall if its filter is still ticked, else the exit
    // port's KVM_EXIT_IO): the Call Stack header names that one, not the serial port's.
    await page.locator('.editor-instance .view-lines').first().click();
    await page.keyboard.press('F5');
    await waitFor(async () => /KVM_EXIT_HYPERCALL|port=0xf4/.test(await header.textContent()), { timeout: 20000, what: 'the Call Stack header at the next exit' });
    assert.doesNotMatch(await header.textContent(), /port=0x3f8/);

    // 6. Run to the end: the view keeps the last run.
    await waitFor(async () => {
      if (!(await page.locator('.debug-toolbar').isVisible())) return true;
      await page.locator('.editor-instance .view-lines').first().click();
      await page.keyboard.press('F5');
      await page.waitForTimeout(1500);
      return !(await page.locator('.debug-toolbar').isVisible());
    }, { timeout: 40000, what: 'the guest to end' });
    await debugEnded();
    await runCommand(page, 'Focus on VM Exits View');
    const ioAfter = page.locator('.monaco-list-row[aria-label^="KVM_EXIT_IO"]', { hasText: 'port=0x3f8' }).first();
    await ioAfter.waitFor({ state: 'visible', timeout: 10000 });
    await waitFor(async () => /last run, ended/.test(await page.locator('.pane-header', { hasText: /^VM Exits/ }).textContent()), { what: 'the VM Exits view marked as the last run' });
    await screenshot(page, SHOTS, '20-vm-exits-after-the-end.png');
    log('VM Exits view kept after the end');
    await runCommand(page, 'View: Close All Editors').catch(() => {});
  });
}
