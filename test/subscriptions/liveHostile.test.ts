/**
 * Hostile clients on the live report surfaces: GraphQL over WebSocket (graphql-ws on /graphql)
 * and Server-Sent Events (graphql-sse on /graphql/stream), spoken raw where a real client would
 * refuse to misbehave. Each case is bounded (docs/subscriptions.md, "Hostile clients"): idle and
 * uninitialised sockets, connections per caller, frame size, protocol violations, hostile
 * documents, tokens, subscribe/unsubscribe churn (no leaked subscribers, series, leases or keys),
 * and graphql-sse's single-connection reservations (not served: they were unauthenticated and
 * never expired).
 */
import http from 'node:http';
import Redis from 'ioredis';
import { DateTime } from 'luxon';
import WebSocket from 'ws';
import type { Gateway } from '../../src/server/createGateway';
import { SignJWT } from 'jose';
import { InProcessLiveCoordination } from '../../src/cache/InProcessLiveCoordination';
import type { LiveSeriesSpec } from '../../src/reports/LiveCoordination';
import { LiveReportHub } from '../../src/reports/LiveReportHub';
import { VALIDATION_STEPS } from '../../src/server/limits/documentLimits';
import { nextTurn } from '../../src/server/limits/turnTaking';
import { sign, SECRET, SECRET_BYTES } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';
import { METRICS } from '../../src/reports/metrics';
import { hostileDocuments } from '../helpers/hostileDocuments';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { wsUrl } from '../helpers/subscribers';

// nextTurn counted: a large document is checked in turns of the event loop, over WebSocket as over HTTP.
jest.mock('../../src/server/limits/turnTaking', () => {
  const actual = jest.requireActual('../../src/server/limits/turnTaking');
  return { ...actual, nextTurn: jest.fn(actual.nextTurn) };
});

const START = DateTime.fromISO('2026-11-26T11:30:00', { zone: 'Asia/Shanghai' }).toMillis();
const LIVE = `subscription($id: ID!) { intervalReportUpdates(instanceId: $id) { id statsTime closed } }`;
const MAX_CONNECTIONS = 3;

/** A raw graphql-transport-ws socket: every message received, and how it closed. */
interface RawSocket {
  ws: WebSocket;
  messages: any[];
  send(message: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
  /** The first message (from index `from`) matching `predicate`. */
  next(predicate: (message: any) => boolean, timeoutMs?: number): Promise<any>;
}

function rawSocket(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  const ws = new WebSocket(wsUrl(url), 'graphql-transport-ws', { headers });
  const messages: any[] = [];
  const listeners = new Set<() => void>();
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    for (const listener of [...listeners]) listener();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const socket: RawSocket = {
    ws,
    messages,
    closed,
    send: (message) => ws.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message)),
    next: (predicate, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(predicate);
          if (found === undefined) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no matching message among ${JSON.stringify(messages).slice(0, 1000)}`));
        }, timeoutMs);
        listeners.add(check);
        void closed.then(() => setTimeout(check, 0));
        check();
      }),
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('error', reject);
  });
}

/** A socket past connection_ack. */
async function initialised(url: string, payload: Record<string, unknown>): Promise<RawSocket> {
  const socket = await rawSocket(url);
  socket.send({ type: 'connection_init', payload });
  const first = await Promise.race([socket.next((m) => m.type === 'connection_ack'), socket.closed]);
  if (!('type' in first)) throw new Error(`closed before connection_ack: ${JSON.stringify(first)}`);
  return socket;
}

const until = async (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not met in time`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describe('live report subscriptions: hostile clients', () => {
  let gateway: Gateway;
  let redis: TestRedisServer;
  let redisClient: Redis;
  const prefix = `hostile-${process.pid}:`;
  const sockets: RawSocket[] = [];
  const open = async (url: string, payload: Record<string, unknown>) => {
    const socket = await initialised(url, payload);
    sockets.push(socket);
    return socket;
  };
  const token = async (claims: Record<string, unknown> = {}) => `Bearer ${await sign({ ccc_instances: ['ccc-test', 'ccc-demo-1'], ...claims })}`;

  beforeAll(async () => {
    redis = await startRedisServer();
    redisClient = new Redis(redis.url);
    gateway = await startTestGateway(
      {
        AUTH_MODE: 'jwt',
        AUTH_JWT_SECRET: SECRET,
        REDIS_URL: redis.url,
        MAX_SUBSCRIPTIONS_PER_CALLER: '5',
        MAX_CONNECTIONS_PER_CALLER: String(MAX_CONNECTIONS),
        OPERATION_MAX_COST: '30',
      },
      { now: () => START, livePollIntervalMs: 100, redisKeyPrefix: prefix },
    );
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.ws.terminate();
  });
  afterAll(async () => {
    await gateway.close();
    redisClient.disconnect();
    if (!redis.external) await redis.stop();
  });

  describe('connections', () => {
    it('closes a socket that never sends connection_init with 4408 (graphql-ws connectionInitWaitTimeout)', async () => {
      const socket = await rawSocket(gateway.url);
      sockets.push(socket);
      expect(await socket.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    });

    it(`refuses more than MAX_CONNECTIONS_PER_CALLER connections per caller with 4429, and counts them down when they close`, async () => {
      const authorization = await token();
      const held = [];
      for (let i = 0; i < MAX_CONNECTIONS; i++) held.push(await open(gateway.url, { authorization }));
      const extra = await rawSocket(gateway.url);
      sockets.push(extra);
      extra.send({ type: 'connection_init', payload: { authorization } });
      expect(await extra.closed).toEqual({ code: 4429, reason: expect.stringContaining('MAX_CONNECTIONS_PER_CALLER') });
      // Another caller is not affected.
      await open(gateway.url, { authorization: await token({ sub: 'someone-else' }) });
      held[0].ws.close(1000);
      await held[0].closed;
      await until(async () => {
        const again = await rawSocket(gateway.url);
        sockets.push(again);
        again.send({ type: 'connection_init', payload: { authorization } });
        const first = await Promise.race([again.next((m) => m.type === 'connection_ack'), again.closed]);
        return 'type' in first;
      }, 'a connection freed by a close is available again');
    });

    it('does not count a socket that closed while its token was being checked (closing mid-handshake)', async () => {
      const authorization = await token({ sub: 'mid-handshake' });
      for (let i = 0; i < 20; i++) {
        const socket = await rawSocket(gateway.url);
        socket.send({ type: 'connection_init', payload: { authorization } });
        socket.ws.terminate();
      }
      // Half-open: connected, initialised, then the TCP connection vanishes without a close frame.
      for (let i = 0; i < 5; i++) {
        const socket = await initialised(gateway.url, { authorization });
        (socket.ws as unknown as { _socket: import('node:net').Socket })._socket.destroy();
      }
      await until(async () => {
        const held = [];
        try {
          for (let i = 0; i < MAX_CONNECTIONS; i++) held.push(await initialised(gateway.url, { authorization }));
          return true;
        } catch {
          return false;
        } finally {
          for (const socket of held) socket.ws.terminate();
        }
      }, 'all MAX_CONNECTIONS_PER_CALLER connections available after the aborted handshakes');
    });
  });

  describe('messages', () => {
    it('closes a socket that sends a 10 MB frame with 1009 before reading it as JSON, without a stack on stderr', async () => {
      const consoleError = jest.spyOn(console, 'error');
      try {
        const socket = await open(gateway.url, { authorization: await token() });
        socket.send({ id: '1', type: 'subscribe', payload: { query: `subscription { ${'a '.repeat(5_000_000)} }` } });
        expect((await socket.closed).code).toBe(1009);
        // A frame with an invalid opcode: ws answers 1002.
        const garbled = await open(gateway.url, { authorization: await token() });
        (garbled.ws as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0]));
        expect((await garbled.closed).code).toBe(1002);
        expect(consoleError).not.toHaveBeenCalled();
      } finally {
        consoleError.mockRestore();
      }
    });

    it.each([
      ['invalid JSON', '{"type": "subscribe", '],
      ['an unknown message type', JSON.stringify({ type: 'start', id: '1', payload: {} })],
      ['a binary frame of garbage', Buffer.from([0xff, 0x00, 0xfe])],
      ['a subscribe without an id', JSON.stringify({ type: 'subscribe', payload: { query: LIVE } })],
      ['variables that are not an object', JSON.stringify({ id: '1', type: 'subscribe', payload: { query: LIVE, variables: ['ccc-test'] } })],
    ])('closes the socket with 4400 on %s', async (_name, frame) => {
      const socket = await open(gateway.url, { authorization: await token() });
      socket.send(frame);
      expect((await socket.closed).code).toBe(4400);
    });

    it('closes with 4401 a subscribe sent before connection_ack, and with 4409 a duplicate subscription id', async () => {
      const early = await rawSocket(gateway.url);
      sockets.push(early);
      early.send({ id: '1', type: 'subscribe', payload: { query: LIVE, variables: { id: 'ccc-test' } } });
      expect((await early.closed).code).toBe(4401);
      const socket = await open(gateway.url, { authorization: await token() });
      socket.send({ id: 'same', type: 'subscribe', payload: { query: LIVE, variables: { id: 'ccc-test' } } });
      await socket.next((m) => m.type === 'next');
      socket.send({ id: 'same', type: 'subscribe', payload: { query: LIVE, variables: { id: 'ccc-test' } } });
      expect(await socket.closed).toEqual({ code: 4409, reason: 'Subscriber for same already exists' });
    });

    it('closes with 4429 a second connection_init (a token swapped mid-connection is not taken)', async () => {
      const socket = await open(gateway.url, { authorization: await token({ ccc_instances: ['ccc-test'] }) });
      socket.send({ type: 'connection_init', payload: { authorization: await token({ ccc_instances: '*' }) } });
      expect((await socket.closed).code).toBe(4429);
    });
  });

  describe('documents', () => {
    const refusal = async (socket: RawSocket, id: string, payload: Record<string, unknown>) => {
      socket.send({ id, type: 'subscribe', payload });
      return socket.next((m) => m.id === id && (m.type === 'error' || m.type === 'next'));
    };

    it('refuses every hostile document over WebSocket with the code HTTP answers', async () => {
      const socket = await open(gateway.url, { authorization: await token() });
      const documents = hostileDocuments().filter((d) => !d.introspection);
      for (const [i, document] of documents.entries()) {
        const message = await refusal(socket, `h${i}`, { query: document.query, variables: document.variables });
        expect({ name: document.name, type: message.type, code: message.payload[0]?.extensions?.code }).toEqual({ name: document.name, type: 'error', code: document.code });
      }
      expect(gateway.live.server.openSubscriptions('sub:svc-reporting')).toBe(0);
    });

    it('checks a large document in turns of the event loop (scan and parse, limits, validation in slices), as HTTP does', async () => {
      const socket = await open(gateway.url, { authorization: await token() });
      const worst = hostileDocuments().find((d) => d.name.startsWith('aliased reports of every inbound metric'))!;
      jest.mocked(nextTurn).mockClear();
      const message = await refusal(socket, 'large', { query: worst.query });
      expect(message.payload[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(jest.mocked(nextTurn).mock.calls.length).toBeGreaterThanOrEqual(2 + VALIDATION_STEPS);
    });

    it('refuses a subscription with 1,000 aliases of its field, one over more instances than OPERATION_MAX_COST, and one over 1,000', async () => {
      const socket = await open(gateway.url, { authorization: await token({ ccc_instances: '*' }) });
      const aliases = `subscription { ${Array.from({ length: 1000 }, (_, i) => `a${i}: intervalReportUpdates(instanceId: "ccc-test") { id }`).join(' ')} }`;
      const many = await refusal(socket, 'aliases', { query: aliases });
      expect(many).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'OPERATION_TOO_EXPENSIVE' } }] });
      const combined = (n: number) => ({
        query: 'subscription($ids: [ID!]!) { combinedIntervalReportUpdates(instanceIds: $ids) { id } }',
        variables: { ids: Array.from({ length: n }, (_, i) => `ccc-demo-${i}`) },
      });
      // OPERATION_MAX_COST is 30: one current bucket per instance.
      expect(await refusal(socket, 'costly', combined(31))).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'OPERATION_TOO_EXPENSIVE', cost: 31, maxCost: 30 } }] });
      // Past the per-field instance limit the field itself refuses, before any read: one error event, then complete.
      expect(await refusal(socket, 'huge', combined(1000))).toMatchObject({ type: 'next', payload: { errors: [{ extensions: { code: 'BAD_USER_INPUT', argumentName: 'instanceIds' } }] } });
      await socket.next((m) => m.id === 'huge' && m.type === 'complete');
      expect(gateway.live.hub.stats.subscribers).toBe(0);
    });

    it('refuses hostile documents over Server-Sent Events with a 400 and the same codes', async () => {
      const authorization = await token();
      for (const document of hostileDocuments().filter((d) => !d.introspection).slice(0, 8)) {
        const response = await fetch(`${gateway.url}/stream`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization },
          body: JSON.stringify({ query: document.query, variables: document.variables }),
        });
        expect({ name: document.name, status: response.status, code: ((await response.json()) as any).errors[0].extensions.code }).toEqual({
          name: document.name,
          status: 400,
          code: document.code,
        });
      }
    });
  });

  describe('tokens', () => {
    it('closes with 4401 a token issued in the future', async () => {
      const socket = await rawSocket(gateway.url);
      sockets.push(socket);
      const inAnHour = Math.floor(Date.now() / 1000) + 3600;
      const future = await new SignJWT({ sub: 'svc-reporting', ccc_instances: '*' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(inAnHour).setExpirationTime(inAnHour + 3600).sign(SECRET_BYTES);
      socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${future}` } });
      expect(await socket.closed).toEqual({ code: 4401, reason: expect.stringContaining('issued in the future') });
    });

    it('ignores debug switches in connection_init: no extensions, no other instances', async () => {
      const socket = await open(gateway.url, {
        authorization: await token({ ccc_instances: ['ccc-test'] }),
        'x-gateway-debug': '1',
        headers: { 'x-gateway-debug': '1' },
        gateway_debug: true,
        ccc_instances: '*',
      });
      socket.send({ id: '1', type: 'subscribe', payload: { query: LIVE, variables: { id: 'ccc-test' } }, extensions: { debug: true } });
      const first = await socket.next((m) => m.id === '1' && m.type === 'next');
      expect(first.payload.extensions).toBeUndefined();
      socket.send({ id: '2', type: 'subscribe', payload: { query: LIVE, variables: { id: 'ccc-demo-1' } } });
      const other = await socket.next((m) => m.id === '2' && m.type === 'next');
      expect(other.payload.errors[0].extensions.code).toBe('FORBIDDEN');
    });
  });

  describe('resources', () => {
    const liveKeys = () => redisClient.keys(`${prefix}live:*`);

    it('leaks no subscriber, series, lease, interest key or count under subscribe/complete churn', async () => {
      const socket = await open(gateway.url, { authorization: await token({ sub: 'churner' }) });
      for (let i = 0; i < 150; i++) {
        socket.send({ id: `c${i}`, type: 'subscribe', payload: { query: LIVE, variables: { id: i % 2 ? 'ccc-test' : 'ccc-demo-1' } } });
        // Every other one is completed before its first event, the others right after it.
        if (i % 3 === 0) await socket.next((m) => m.id === `c${i}`);
        socket.send({ id: `c${i}`, type: 'complete' });
      }
      await until(() => gateway.live.hub.stats.subscribers === 0, 'no subscribers left');
      expect(gateway.live.server.openSubscriptions('sub:churner')).toBe(0);
      // The series outlive their last subscriber until their interest key expires (three polls, at least 2 s), then go.
      await until(() => gateway.live.hub.stats.series === 0, 'no series left');
      await until(async () => (await liveKeys()).length === 0, 'no live keys left in Redis (leases, interest)', 5_000);
      expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    });

    it('releases a poller lease granted after its series was dropped (unsubscribed during the first claim)', async () => {
      const spec: LiveSeriesSpec = { key: 'ccc-test:HOURLY:UTC', instanceIds: ['ccc-test'], interval: 'HOURLY', zone: 'UTC' };
      const coordination = new InProcessLiveCoordination();
      const held = new Set<string>();
      let grant!: () => void;
      const granted = new Promise<void>((resolve) => (grant = resolve));
      // A lease store as Redis keeps it: whoever claims first holds it until released.
      let claims = 0;
      coordination.claimPoller = async (key) => {
        await granted;
        held.add(key);
        claims++;
        return true;
      };
      coordination.releasePoller = async (key) => {
        held.delete(key);
      };
      const hub = new LiveReportHub({ coordination, now: () => START, settleDelayMs: 0, pollIntervalMs: 50, maxQueuedEvents: 4, poll: async () => [] });
      const subscriber = hub.subscribe(spec, [], () => undefined);
      await subscriber.return();
      expect(hub.stats.series).toBe(0);
      grant();
      await until(() => claims === 1, 'the claim was granted');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(held.size).toBe(0);
      await hub.stop();
    });

    it('releases the count of subscriptions whose socket vanished while they were being admitted', async () => {
      const authorization = await token({ sub: 'vanisher' });
      for (let i = 0; i < 10; i++) {
        const socket = await initialised(gateway.url, { authorization });
        for (let j = 0; j < 3; j++) socket.send({ id: `v${j}`, type: 'subscribe', payload: { query: LIVE, variables: { id: 'ccc-test' } } });
        socket.ws.terminate();
      }
      await until(() => gateway.live.server.openSubscriptions('sub:vanisher') === 0, 'the caller has no subscriptions left');
      await until(() => gateway.live.hub.stats.subscribers === 0, 'no subscribers left');
    });
  });

  describe('server-sent events', () => {
    it('refuses the single-connection mode (PUT reservations are unauthenticated and never expire)', async () => {
      for (let i = 0; i < 3; i++) {
        const put = await fetch(`${gateway.url}/stream`, { method: 'PUT' });
        expect(put.status).toBe(405);
        expect(((await put.json()) as any).errors[0]).toMatchObject({ extensions: { code: 'BAD_REQUEST' }, message: expect.stringContaining('distinct connections') });
      }
      const withToken = await fetch(`${gateway.url}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': 'abc', authorization: await token() },
        body: JSON.stringify({ query: LIVE, variables: { id: 'ccc-test' } }),
      });
      expect(withToken.status).toBe(405);
    });

    it('caps concurrent streams per caller with MAX_SUBSCRIPTIONS_PER_CALLER and releases them when cut', async () => {
      const authorization = await token({ sub: 'sse-flood' });
      const requests: http.ClientRequest[] = [];
      const open = () =>
        new Promise<http.IncomingMessage>((resolve, reject) => {
          const body = JSON.stringify({ query: LIVE, variables: { id: 'ccc-test' } });
          const request = http.request(`${gateway.url}/stream`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization } }, resolve);
          request.on('error', reject);
          request.end(body);
          requests.push(request);
        });
      try {
        const streams = [];
        for (let i = 0; i < 5; i++) streams.push(await open());
        expect(streams.map((s) => s.statusCode)).toEqual([200, 200, 200, 200, 200]);
        const sixth = await open();
        expect(sixth.statusCode).toBe(400);
        for (const s of streams) s.pause();
        expect(gateway.live.server.openSubscriptions('sub:sse-flood')).toBe(5);
      } finally {
        for (const request of requests) request.destroy();
      }
      await until(() => gateway.live.server.openSubscriptions('sub:sse-flood') === 0, 'closed streams release their count');
    });
  });
});

describe('live report subscriptions: refused documents share HTTP\'s REJECTED_REQUESTS_PER_MINUTE', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, REJECTED_REQUESTS_PER_MINUTE: '3' }, { now: () => START, livePollIntervalMs: 100 });
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('refuses a caller that keeps sending hostile documents over WebSocket before parsing them, and over HTTP too', async () => {
    const authorization = `Bearer ${await sign({ ccc_instances: ['ccc-test'], sub: 'document-spammer' })}`;
    const socket = await initialised(gateway.url, { authorization });
    try {
      const worst = hostileDocuments().find((d) => d.name === 'repeated unknown one-letter field (under the token limit)')!;
      const codes: string[] = [];
      for (let i = 0; i < 10; i++) {
        socket.send({ id: `d${i}`, type: 'subscribe', payload: { query: worst.query } });
        const message = await socket.next((m) => m.id === `d${i}`);
        codes.push(message.payload[0].extensions.code);
      }
      // At most the minute's 3 were examined; the rest were refused before parsing.
      expect(codes.filter((code) => code === 'OPERATION_TOO_EXPENSIVE').length).toBeGreaterThanOrEqual(1);
      expect(codes.filter((code) => code === 'OPERATION_TOO_EXPENSIVE').length).toBeLessThanOrEqual(3);
      expect(codes.filter((code) => code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(7);
      // The same budget as HTTP's: the caller's next HTTP operation is refused too.
      const http = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ query: '{ __typename }' }) });
      expect(http.status).toBe(429);
      // A valid subscription from the same caller is refused as well while the budget is spent.
      socket.send({ id: 'ok', type: 'subscribe', payload: { query: LIVE, variables: { id: 'ccc-test' } } });
      expect((await socket.next((m) => m.id === 'ok')).payload[0].extensions.code).toBe('RATE_LIMITED');
    } finally {
      socket.ws.terminate();
    }
  });
});

describe('live report subscriptions: a Server-Sent Events client that stops reading', () => {
  const clock = { now: START };
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ SUBSCRIPTION_QUEUE_MAX: '2', MAX_ALIASES: '200', CACHE_SETTLE_DELAY_MS: '0' }, { now: () => clock.now, livePollIntervalMs: 50 });
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('has its stream cut once SUBSCRIPTION_QUEUE_MAX updates wait for it, like a WebSocket, and its count released', async () => {
    // About 100 kB per update, so that the stalled reader's socket buffers fill after some updates
    // (how many depends on the kernel's loopback buffers: the WebSocket twin of this test needed 43
    // here), hence up to 180 before giving up.
    const inbound = METRICS.inbound.map((m) => m.name).join(' ');
    const heavy = `subscription($id: ID!) { intervalReportUpdates(instanceId: $id) { statsTime ${Array.from({ length: 100 }, (_, i) => `g${i}: inbound { ...I }`).join(' ')} } }
      fragment I on InboundMetrics { ${inbound} }`;
    let received = 0;
    let cut = false;
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = http.request(`${gateway.url}/stream`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } }, resolve);
      request.on('error', reject);
      request.end(JSON.stringify({ query: heavy, variables: { id: 'ccc-test' } }));
    });
    expect(response.statusCode).toBe(200);
    response.on('data', (chunk: Buffer) => (received += chunk.length));
    response.on('close', () => (cut = true));
    response.on('error', () => (cut = true));
    await until(() => received > 50_000, 'the first bucket arrived');
    // A healthy WebSocket subscriber on the same series tells when each poll has been delivered.
    const healthy = await initialised(gateway.url, {});
    healthy.send({ id: 'h', type: 'subscribe', payload: { query: LIVE, variables: { id: 'ccc-test' } } });
    await healthy.next((m) => m.id === 'h');
    response.socket.pause();
    try {
      let minutes = 0;
      while (gateway.live.server.openSubscriptions('ip:127.0.0.1') > 1) {
        if (++minutes > 180) throw new Error(`the stalled stream was never cut (the gateway holds what it cannot send): ${process.memoryUsage().rss} bytes RSS`);
        const seen = healthy.messages.length;
        clock.now += 60_000;
        await until(() => healthy.messages.length > seen, 'the healthy subscriber got the update');
      }
      response.socket.resume();
      await until(() => cut, 'the stalled stream ends');
      expect(gateway.live.hub.stats.subscribers).toBe(1);
    } finally {
      healthy.ws.terminate();
      response.destroy();
    }
  }, 60_000);
});
