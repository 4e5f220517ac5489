// A Watch or hover expression that cannot be evaluated answers with an error shown inline, as in
// C/C++ debugging: the error response has no showUser (VS Code would also pop a notification, again
// at every stop). Other requests' errors keep showUser.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapSession, example } from './helpers';

/** The raw response (DebugClient rejects failed requests with only the message). */
function raw(s: DapSession, command: string, args: unknown): Promise<DebugProtocol.Response> {
  const client = s.dc as unknown as { doSend(c: string, a: unknown, clb: (r: DebugProtocol.Response) => void): void };
  return new Promise((resolve) => client.doSend(command, args, resolve));
}

describe('evaluate errors are shown inline', () => {
  let s: DapSession;
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: example('seed003-map-gpa-range.asm'), stopOnEntry: true });
  });
  after(() => s.close());

  for (const context of ['watch', 'hover', 'repl', 'variables', 'clipboard']) {
    test(`${context}: a bad expression fails with its message and no showUser`, async () => {
      const r = await raw(s, 'evaluate', { expression: 'rax +', context });
      assert.equal(r.success, false);
      assert.match(r.message ?? '', /column/);
      const err = (r.body as { error?: DebugProtocol.Message } | undefined)?.error;
      assert.ok(err, 'an error message body');
      assert.notEqual(err.showUser, true);
    });
  }

  test('an unknown frame and an unreadable address: inline too', async () => {
    for (const args of [{ expression: 'rax', frameId: 99_000, context: 'watch' }, { expression: 'qword [0x7fff00000000]', context: 'hover' }]) {
      const r = await raw(s, 'evaluate', args);
      assert.equal(r.success, false);
      assert.notEqual((r.body as { error?: DebugProtocol.Message }).error?.showUser, true, JSON.stringify(args));
    }
  });

  test('the value of a good expression is unchanged', async () => {
    assert.equal(await s.value('rip'), 0x100000n);
  });

  test('other requests still ask VS Code to show their errors', async () => {
    const r = await raw(s, 'readMemory', { memoryReference: 'zz', count: 1 });
    assert.equal(r.success, false);
    assert.equal((r.body as { error?: DebugProtocol.Message }).error?.showUser, true);
  });
});
