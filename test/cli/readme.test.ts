// Every command of the README's CLI-EXAMPLES table runs and does exactly what its row says: the
// stdout (raw bytes, \xNN for a byte), the stderr lines quoted after "stderr:", JSON fields quoted
// after "JSON with", and the exit status (issue 14).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { main } from '../../bin/cli';

const ROOT = resolve(__dirname, '../..');
const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
const table = /<!-- CLI-EXAMPLES:BEGIN -->([\s\S]*?)<!-- CLI-EXAMPLES:END -->/.exec(readme)![1];
const rows = table.split('\n').filter((l) => l.startsWith('| `npx kvm-guest'));

test('the README has its CLI examples table, one row per seed at least', () => {
  assert.ok(rows.length >= 5, String(rows.length));
  for (const seed of ['seed000', 'seed001', 'seed002', 'seed003', 'seed004']) assert.ok(rows.some((r) => r.includes(seed)), seed);
});

for (const row of rows) {
  const [, cmd, stdoutCell, status] = /^\| `npx kvm-guest ([^`]+)` \| (.*) \| (\d+) \|$/.exec(row)!;
  test(`kvm-guest ${cmd}`, async () => {
    process.chdir(ROOT);
    let out = '', err = '';
    const code = await main(cmd.split(/\s+/), { out: (s) => { out += s; }, err: (s) => { err += s; }, guest: (s) => { out += s; } });
    assert.equal(code, Number(status), err);
    const [outPart, errPart] = stdoutCell.split(/; stderr: /);
    if (outPart.startsWith('JSON with')) {
      const doc = JSON.parse(out) as Record<string, unknown>;
      for (const m of outPart.matchAll(/`("[^"]+": [^`]+)`/g)) {
        const [k, v] = Object.entries(JSON.parse(`{${m[1]}}`) as Record<string, unknown>)[0];
        assert.deepEqual(doc[k], v, k);
      }
    } else if (outPart.startsWith('nothing')) {
      assert.equal(out, '');
    } else {
      const want = /^`([^`]*)`/.exec(outPart)![1].replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      assert.equal(out, want);
    }
    if (errPart) for (const m of errPart.matchAll(/`([^`]+)`/g)) assert.ok(err.includes(m[1]), `stderr lacks '${m[1]}':\n${err}`);
    else assert.equal(err, '');
  });
}
