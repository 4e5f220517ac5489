// Runs inside VS Code's extension host (@vscode/test-electron's extensionTestsPath): checks the
// extension as VS Code sees it. Plain node:assert, one line per check, rejects on the first failure.
const assert = require('node:assert/strict');
const path = require('node:path');
const vscode = require('vscode');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function poll(fn, what, timeout = 20000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const checks = [
  ['the extension is installed and activates', async () => {
    const ext = vscode.extensions.getExtension('kvm-guest.kvm-guest-debugger');
    assert.ok(ext, 'extension kvm-guest.kvm-guest-debugger');
    await ext.activate();
    assert.ok(ext.isActive);
  }],
  ['a .asm file opens as guest-asm', async () => {
    const doc = await vscode.workspace.openTextDocument(path.join(process.env.KVM_GUEST_E2E_WORKSPACE, 'hello.asm'));
    await vscode.window.showTextDocument(doc);
    assert.equal(doc.languageId, 'guest-asm');
  }],
  ['the kvmGuest commands are registered', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['kvmGuest.debugFile', 'kvmGuest.injectInit', 'kvmGuest.injectNmi', 'kvmGuest.injectTripleFault', 'kvmGuest.resetVm', 'kvmGuest.toggleExitFilters', 'kvmGuest.showStatistics']) {
      assert.ok(all.includes(id), id);
    }
  }],
  ['assembler errors become diagnostics', async () => {
    const uri = vscode.Uri.file(path.join(process.env.KVM_GUEST_E2E_WORKSPACE, 'broken.asm'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const diags = await poll(() => { const d = vscode.languages.getDiagnostics(uri); return d.length ? d : undefined; }, 'diagnostics for broken.asm');
    assert.match(diags[0].message, /movx/);
    assert.equal(diags[0].range.start.line, 4);
  }],
];

exports.run = async function run() {
  let failed = 0;
  for (const [name, fn] of checks) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${name}: ${e && e.stack ? e.stack : e}`);
    }
  }
  console.log(`${checks.length - failed} passed, ${failed} failed`);
  if (failed) throw new Error(`${failed} extension check(s) failed`);
};
