// The views' logic without VS Code: what the Toggle Exit Breakpoints command sends, which register
// cache rows count as changed, and the statistics page's Content-Security-Policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterPickItems, toggledFilters, type ExitFilterInfo } from '../../extension/exit-filter-state';
import { diffRegisterCache } from '../../extension/views/regcache-diff';
import { contentSecurityPolicy, jsonForScript, statisticsHtml, timeColumns } from '../../extension/views/statistics-html';
import type { RegisterCacheResponse } from '../../extension/protocol';

const FILTERS: ExitFilterInfo[] = [
  { filter: 'hw-any', label: 'Any VM exit', supportsCondition: true },
  { filter: 'kvm-hypercall', label: 'KVM_EXIT_HYPERCALL', supportsCondition: true },
  { filter: 'regcache-never-written', label: 'VMCS/VMCB field read before written', supportsCondition: true },
];

test('toggling exit filters keeps the conditions typed in the Breakpoints view, in the adapter\'s order', () => {
  const enabled = [{ filterId: 'kvm-hypercall', condition: 'nr == 12' }];
  assert.deepEqual(toggledFilters(FILTERS, enabled, ['regcache-never-written', 'kvm-hypercall', 'no-such']), {
    filters: [],
    filterOptions: [{ filterId: 'kvm-hypercall', condition: 'nr == 12' }, { filterId: 'regcache-never-written' }],
  });
  assert.deepEqual(toggledFilters(FILTERS, enabled, []).filterOptions, []);
  const items = filterPickItems(FILTERS, enabled);
  assert.deepEqual(items.map((i) => [i.id, i.picked]), [['hw-any', false], ['kvm-hypercall', true], ['regcache-never-written', false]]);
  assert.equal(items[1].description, 'kvm-hypercall  when nr == 12');
});

test('register cache rows that changed since the previous stop', () => {
  const rc = (rax: string, avail: boolean, dirty: boolean, vcpu = 0): RegisterCacheResponse => ({
    vcpu, avail: 0, dirty: 0, vmreads: 1, vmwrites: 1,
    regs: [{ name: 'VCPU_REGS_RAX', cached: rax, vmcs: '0x0', avail, dirty }, { name: 'VCPU_REGS_RSP', cached: '0x7000', vmcs: '0x7000', avail: false, dirty: false }],
  });
  assert.equal(diffRegisterCache(undefined, rc('0x0', false, false)).size, 0, 'nothing is "changed" at the first stop');
  const d = diffRegisterCache(rc('0x0', false, false), rc('0x2a', true, true));
  assert.deepEqual([...d.entries()], [['VCPU_REGS_RAX', { what: ['cached', 'avail', 'dirty'] }]]);
  assert.equal(diffRegisterCache(rc('0x0', false, false), rc('0x2a', true, true, 1)).size, 0, 'another vCPU is not a change');
});

test('the statistics page: default-src \'none\', nonce\'d script and style, no remote content, data never parsed as HTML', () => {
  const nonce = 'abc123';
  const html = statisticsHtml({ stats: { byReason: [{ reason: '</script><script>alert(1)</script>', count: 1 }], timeline: [{ instructions: 0, count: 1 }], totalInstructions: 5 } }, nonce);
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
  assert.equal(csp, contentSecurityPolicy(nonce));
  assert.match(csp!, /^default-src 'none'; script-src 'nonce-abc123'; style-src 'nonce-abc123';/);
  assert.doesNotMatch(csp!, /unsafe-(inline|eval)/);
  const scripts = html.match(/<script\b[^>]*>/g) ?? [];
  assert.deepEqual(scripts, ['<script type="application/json" id="data">', `<script nonce="${nonce}">`]);
  assert.match(html, new RegExp(`<style nonce="${nonce}">`));
  assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no remote URLs');
  assert.doesNotMatch(html, /\bstyle="/, 'no inline style attributes (blocked by the CSP)');
  assert.doesNotMatch(html, /innerHTML|eval\(|new Function/);
  assert.equal(html.split('</script>').length - 1, 2, 'the data cannot close its script element');
  assert.equal(JSON.parse(jsonForScript({ s: '</script>&' })).s, '</script>&');
});

test('the exits-over-time chart is scaled to the run: a 4-instruction run has a 4-instruction axis', () => {
  const short = timeColumns([{ instructions: 0, count: 1 }, { instructions: 3, count: 1 }], 4, 120);
  assert.equal(short.end, 4);
  assert.equal(short.sums.length, 4);
  assert.deepEqual(short.sums, [1, 0, 0, 1]);
  const long = timeColumns([{ instructions: 0, count: 2 }, { instructions: 1_000_000, count: 3 }], 1_000_500, 120);
  assert.equal(long.sums.length, 120);
  assert.equal(long.sums.reduce((a, b) => a + b, 0), 5);
  assert.equal(timeColumns([], 0, 120).end, 1);
  // The page's script uses this very function.
  const html = statisticsHtml({ stats: { byReason: [], timeline: [], totalInstructions: 0 } }, 'n');
  assert.ok(html.includes(timeColumns.toString()));
  assert.doesNotMatch(html, /100000|100,000/, 'no fixed 100,000-instruction axis');
});

test('the statistics page does not clip: labels measured, svg and table within the panel width', () => {
  const html = statisticsHtml({ stats: { byReason: [{ reason: 'EXIT_REASON_IO_INSTRUCTION', count: 1 }], timeline: [], totalInstructions: 1 } }, 'n');
  assert.match(html, /getComputedTextLength/);
  assert.match(html, /svg \{ display: block; max-width: 100%;/);
  assert.match(html, /\.scroll \{ max-width: 100%; overflow-x: auto; \}/);
  assert.match(html, /class: 'scroll'/);
});
