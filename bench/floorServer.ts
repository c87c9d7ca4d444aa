/**
 * The floor of issue 12: a plain `node:http` server that reads the request body and sends back
 * the bytes the gateway answered for it (precomputed, one answer per scenario's request body).
 * No GraphQL, no framework: what any Node server must spend at least, so every scenario can be
 * printed as a fraction of it.
 *
 * Started by bench/performance.ts: `node dist/bench/floorServer.js` with FLOOR_ANSWERS (a JSON
 * file: [{ body, answer }], both strings); prints its URL when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';

interface FloorAnswer {
  body: string;
  answer: string;
}

async function main(): Promise<void> {
  const answers = new Map<string, Buffer>();
  const read = () => {
    const entries = JSON.parse(readFileSync(process.env.FLOOR_ANSWERS!, 'utf8')) as FloorAnswer[];
    for (const e of entries) answers.set(e.body, Buffer.from(e.answer, 'utf8'));
  };
  read();
  // The bench re-records the gateway's answers and signals (see bench/fixtureSchema.ts).
  process.on('SIGUSR2', read);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = answers.get(Buffer.concat(chunks).toString('utf8'));
      if (!answer) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no precomputed answer for this body');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': answer.length });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  console.log(`floor listening on http://127.0.0.1:${port}/`);
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    // Load generators keep connections alive; close() alone would wait for them.
    server.closeAllConnections();
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
