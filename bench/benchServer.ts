/**
 * How the bench's own comparison servers (./floorServer.ts, ./yogaPeer.ts) run: on a free loopback
 * port, announced on stdout (the harness waits for that line), and closed on SIGTERM.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function serveUntilTerminated(server: Server, name: string, path: string): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  console.log(`${name} listening on http://127.0.0.1:${port}${path}`);
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    // Load generators keep connections alive; close() alone would wait for them.
    server.closeAllConnections();
  });
}
