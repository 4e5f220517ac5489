// The loopback DAP server the extension starts in its own host for kvmGuest.adapterMode "server"
// with port 0: one adapter session per connection, bound to 127.0.0.1. No VS Code import, so tests
// run it with the bundled adapter (dist/adapter.js).
import * as net from 'node:net';
import type { AdapterModule } from './adapter-loader';

export interface InHostServer { port: number; close(): Promise<void> }

export async function startInHostServer(module: AdapterModule, port = 0): Promise<InHostServer> {
  const Session = module.KvmGuestSession;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const session = new Session();
    if (!session.start) {
      socket.destroy();
      return;
    }
    session.setRunAsServer?.(true);
    session.start(socket, socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
