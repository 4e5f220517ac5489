// The layering rules of vm-core that no compiler checks (issue 13): vendor differences stay behind
// KvmX86Ops, and handler tables are keyed by EXIT_REASON_* names, not raw numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..');

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const sources = ['vm-core', 'adapter', 'extension', 'bin'].flatMap((d) => tsFiles(join(root, d)));
const vendorFolder = (p: string) => /vm-core\/kvm\/(vmx|svm)\//.test(relative(root, p));

test('no vendor test or cast to a vendor class outside kvm/vmx and kvm/svm', () => {
  const bad: string[] = [];
  const patterns = [/ops\.name\s*[!=]==/, /instanceof\s+(Vmx|Svm)\b/, /\bas\s+(Vmx|Svm)\b/, /<(Vmx|Svm)>/];
  for (const f of sources) {
    if (vendorFolder(f)) continue;
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (patterns.some((re) => re.test(line))) bad.push(`${relative(root, f)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(bad, [], 'use vcpu.ops (KvmX86Ops) or its side-effect-free view (ops.view) instead');
});

test('only kvm/vcpu.ts (which chooses the vendor, as kvm_x86_vendor_init) and the kvm/ index (re-exports) import the vendor classes', () => {
  const importers = sources.filter((f) => !vendorFolder(f) &&
    /from '[^']*\/(vmx\/vmx|svm\/svm)'/.test(readFileSync(f, 'utf8').replace(/^import type .*$/gm, '')));
  assert.deepEqual(importers.map((f) => relative(root, f)), ['vm-core/kvm/index.ts', 'vm-core/kvm/vcpu.ts']);
});

test('exit-handler tables and the SVM exit translation use EXIT_REASON_* names as keys', () => {
  const handlers = readFileSync(join(root, 'vm-core/kvm/vmx/vmx_exit_handlers.ts'), 'utf8');
  assert.equal(/\bH\[\d+\]/.test(handlers), false, 'H[<number>] in vmx_exit_handlers.ts');
  const svm = readFileSync(join(root, 'vm-core/kvm/svm/svm.ts'), 'utf8');
  const translate = svm.slice(svm.indexOf('translateExit'), svm.indexOf('m.hwSet(V.exit_code'));
  assert.ok(translate.length > 100, 'translateExit found');
  assert.equal(/case \d+:/.test(translate), false, 'case <number>: in Svm.translateExit');
});
