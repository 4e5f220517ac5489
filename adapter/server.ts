// Serving the adapter: DAP over stdio (one session), or a loopback TCP server (a session per
// connection) for VS Code's debugServer / the extension's server mode.
import { createServer, type AddressInfo } from 'node:net';
import { KvmGuestSession } from './session';

export interface DapServer { port: number; closed: Promise<void>; close(): void }

export function serveDap(o: { stdio: true }): Promise<DapServer>;
export function serveDap(o: { port: number }): Promise<DapServer>;
export function serveDap(o: { stdio?: boolean; port?: number }): Promise<DapServer> {
  if (o.stdio) {
    const session = new KvmGuestSession();
    session.setRunAsServer(false);
    session.start(process.stdin, process.stdout);
    const closed = new Promise<void>((resolve) => process.stdin.on('close', () => resolve()));
    return Promise.resolve({ port: 0, closed, close: () => session.shutdown() });
  }
  return new Promise((resolve, reject) => {
    let done!: () => void;
    const closed = new Promise<void>((r) => { done = r; });
    const server = createServer((socket) => {
      const session = new KvmGuestSession();
      session.setRunAsServer(true);
      session.start(socket, socket);
    });
    server.on('error', reject);
    server.on('close', () => done());
    server.listen(o.port ?? 0, '127.0.0.1', () => {
      resolve({ port: (server.address() as AddressInfo).port, closed, close: () => server.close() });
    });
  });
}
