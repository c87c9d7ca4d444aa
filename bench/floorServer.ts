/**
 * The floor of issue 12: a plain `node:http` server that reads the request body and sends back
 * the bytes the gateway answered for it (precomputed, one answer per scenario's request body).
 * No GraphQL, no framework: what any Node server must spend at least, so every scenario can be
 * printed as a fraction of it.
 *
 * Started by bench/performance.ts: `node dist/bench/floorServer.js` with FLOOR_ANSWERS (a JSON
 * file: [{ body, answer }], both strings); prints its URL when ready.
 */
import { serveUntilTerminated } from './benchServer';
import { createServer } from 'node:http';
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
  await serveUntilTerminated(server, 'floor', '/');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
