/**
 * Instances as entities (issue 13 §1), end to end: gateway -> CccClient (signed) -> the built-in
 * emulator's ListInstances. `CallCenterInstance.name`, `status`, ... are read through one listing
 * per operation, shared across operations for INSTANCE_DIRECTORY_TTL_MS; `callCenterInstances`
 * lists what the token may read; `_entities` resolves the new fields; report fields under the
 * list are priced per instance; answers holding listed fields are never final.
 */
import { emulatedInstance } from '../../src/emulator';
import { DAY_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { SECRET, sign } from '../auth/tokens';
import { graphql, startTestGateway } from '../helpers/gateway';

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const CLOSED_DAY = `startTime: ${NOW - 3 * DAY_MS}, endTime: ${NOW - 2 * DAY_MS}`;
const INSTANCES = ['ccc-alpha', 'ccc-beta', 'ccc-gone', 'ccc-paused', 'ccc-new'];
const DETAILS = {
  'ccc-alpha': { Name: 'Alpha hotline', Description: '' },
  'ccc-gone': { Status: 'RELEASED' as const },
  'ccc-paused': { Status: 'STOPPED' as const },
  'ccc-new': { Status: 'CREATING' as const },
};

const listCalls = (gateway: Gateway) => gateway.emulator!.stats.log.filter((call) => call.action === 'ListInstances').length;
const reportCalls = (gateway: Gateway) => gateway.emulator!.stats.log.filter((call) => call.action === 'ListIntervalInstanceReport').length;

describe('CallCenterInstance fields from ListInstances', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ CACHE_SETTLE_DELAY_MS: '0' }, { now: () => NOW, emulator: { instances: INSTANCES, instanceDetails: DETAILS } });
  });
  afterAll(() => gateway.close());
  beforeEach(() => {
    gateway.instanceDirectory.clear();
    gateway.emulator!.resetStats();
  });

  it('resolves name, status, createTime, description and domainName for many instances with one listing, shared by the next operations', async () => {
    const fields = 'id name status createTime description domainName';
    const query = `{ ${INSTANCES.map((id, i) => `i${i}: callCenterInstance(id: "${id}") { ${fields} }`).join(' ')} }`;
    const first = await graphql(gateway, query);
    expect(first.errors).toBeUndefined();
    expect(first.data.i0).toEqual({ id: 'ccc-alpha', name: 'Alpha hotline', status: 'RUNNING', createTime: emulatedInstance('ccc-alpha').CreateTime, description: null, domainName: 'ccc-alpha' });
    expect(first.data.i2.status).toBe('RELEASED');
    expect(first.data.i3.status).toBe('STOPPED');
    expect(first.data.i4.status).toBe('CREATING');
    expect(first.data.i1.name).toBe(emulatedInstance('ccc-beta').Name);
    expect(listCalls(gateway)).toBe(1);

    // Within the TTL: other operations read the same listing, upstream is not asked again.
    await graphql(gateway, query);
    await graphql(gateway, '{ callCenterInstances { id name } }');
    expect(listCalls(gateway)).toBe(1);
  });

  it('answers NOT_FOUND for an id the account does not list (reports alike), the other instances keep their data', async () => {
    const answer = await graphql(gateway, `{ a: callCenterInstance(id: "ccc-alpha") { name } x: callCenterInstance(id: "ccc-missing") { id name status } }`);
    expect(answer.data.a.name).toBe('Alpha hotline');
    expect(answer.data.x).toEqual({ id: 'ccc-missing', name: null, status: null });
    const codes = answer.errors!.map((e) => [e.path!.join('.'), e.extensions!.code]);
    expect(codes.sort()).toEqual([
      ['x.name', 'NOT_FOUND'],
      ['x.status', 'NOT_FOUND'],
    ]);
    expect(answer.errors![0].message).toMatch(/ccc-missing is not in the account's instance list/);
    expect(listCalls(gateway)).toBe(1);
  });

  it('lists every instance in upstream order, filters by status, and resolves reports under the list', async () => {
    const all = await graphql(gateway, '{ callCenterInstances { id status } }');
    expect(all.data.callCenterInstances.map((i: any) => i.id)).toEqual(INSTANCES);
    const withReports = await graphql(gateway, '{ callCenterInstances(statuses: [RUNNING, STOPPED]) { id } }');
    expect(withReports.data.callCenterInstances.map((i: any) => i.id)).toEqual(['ccc-alpha', 'ccc-beta', 'ccc-paused']);
    const reports = await graphql(gateway, `{ callCenterInstances(statuses: [RUNNING]) { id name summary(${CLOSED_DAY}) { inbound { callsOffered } } } }`);
    expect(reports.errors).toBeUndefined();
    expect(reports.data.callCenterInstances).toHaveLength(2);
    expect(reports.data.callCenterInstances[0].summary.inbound.callsOffered).toEqual(expect.any(Number));
    expect(listCalls(gateway)).toBe(1);
  });

  it('resolves the new fields through _entities, batched into the same single listing', async () => {
    const answer = await graphql(
      gateway,
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on CallCenterInstance { id name status createTime } } }',
      { r: INSTANCES.map((id) => ({ __typename: 'CallCenterInstance', id })) },
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data._entities.map((e: any) => e.status)).toEqual(['RUNNING', 'RUNNING', 'RELEASED', 'STOPPED', 'CREATING']);
    expect(answer.data._entities[0]).toEqual({ id: 'ccc-alpha', name: 'Alpha hotline', status: 'RUNNING', createTime: emulatedInstance('ccc-alpha').CreateTime });
    expect(listCalls(gateway)).toBe(1);
  });

  it('an unreadable listing is an error at the field, not cached: the next operation asks again and is served', async () => {
    gateway.emulator!.options.transformInstancePage = (body: any) => {
      body.Data.List[0].Status = 'ARCHIVED';
      return body;
    };
    try {
      const broken = await graphql(gateway, '{ callCenterInstances { id } a: callCenterInstance(id: "ccc-alpha") { name } }');
      expect(broken.data.callCenterInstances).toBeNull();
      expect(broken.data.a.name).toBeNull();
      expect(broken.errors!.map((e) => e.extensions!.code)).toEqual(['UPSTREAM_ERROR', 'UPSTREAM_ERROR']);
      expect(broken.errors![0].message).toMatch(/Data\.List\[0\]\.Status is not one of/);
      // One attempt for the whole operation (its cost check and both fields).
      expect(listCalls(gateway)).toBe(1);
    } finally {
      gateway.emulator!.options.transformInstancePage = undefined;
    }
    const healed = await graphql(gateway, '{ callCenterInstances { id } }');
    expect(healed.errors).toBeUndefined();
    expect(healed.data.callCenterInstances).toHaveLength(INSTANCES.length);
    expect(listCalls(gateway)).toBe(2);
  });

  it('an answer holding listed fields is never final: no immutable Cache-Control, even with closed reports only', async () => {
    const post = (query: string) => fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const reportsOnly = await post(`{ callCenterInstance(id: "ccc-alpha") { summary(${CLOSED_DAY}) { closed } } }`);
    expect(reportsOnly.headers.get('cache-control')).toMatch(/immutable/);
    const withName = await post(`{ callCenterInstance(id: "ccc-alpha") { name summary(${CLOSED_DAY}) { closed } } }`);
    const cacheControl = withName.headers.get('cache-control')!;
    expect(cacheControl).not.toMatch(/immutable/);
    expect(Number(/max-age=(\d+)/.exec(cacheControl)![1])).toBeLessThanOrEqual(60);
  });
});

describe('callCenterInstances and the caller\'s instances claim', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }, { now: () => NOW, emulator: { instances: INSTANCES, instanceDetails: DETAILS } });
  });
  afterAll(() => gateway.close());

  const as = async (claim: unknown, query: string) => graphql(gateway, query, undefined, { authorization: `Bearer ${await sign({ ccc_instances: claim })}` });

  it('lists only the instances the token may read; "*" lists all', async () => {
    const narrow = await as(['ccc-beta', 'ccc-paused', 'ccc-elsewhere'], '{ callCenterInstances { id name } }');
    expect(narrow.errors).toBeUndefined();
    expect(narrow.data.callCenterInstances.map((i: any) => i.id)).toEqual(['ccc-beta', 'ccc-paused']);
    const all = await as('*', '{ callCenterInstances { id } }');
    expect(all.data.callCenterInstances.map((i: any) => i.id)).toEqual(INSTANCES);
    const none = await as([], '{ callCenterInstances { id } }');
    expect(none.data.callCenterInstances).toEqual([]);
  });

  it('FORBIDDEN for an instance outside the claim, the same whether it exists or not', async () => {
    const existing = await as(['ccc-beta'], '{ callCenterInstance(id: "ccc-alpha") { name } }');
    const unknown = await as(['ccc-beta'], '{ callCenterInstance(id: "ccc-nowhere") { name } }');
    expect(existing.errors![0].extensions!.code).toBe('FORBIDDEN');
    expect(unknown.errors![0].extensions!.code).toBe('FORBIDDEN');
    expect(existing.errors![0].message.replace('ccc-alpha', 'X')).toBe(unknown.errors![0].message.replace('ccc-nowhere', 'X'));
  });
});

describe('operation cost of report fields under callCenterInstances', () => {
  let gateway: Gateway;
  const many = Array.from({ length: 250 }, (_, i) => `ccc-many-${i}`);
  beforeAll(async () => {
    gateway = await startTestGateway({ OPERATION_MAX_COST: '1000' }, { now: () => NOW, emulator: { instances: many, instanceDetails: {} } });
  });
  afterAll(() => gateway.close());

  it('prices the selection once per listed instance, and refuses before any report call', async () => {
    // 48 closed hours (whole hours: NOW is hh:30) per instance: 250 x 48 = 12,000 > 1,000.
    const start = NOW - 3 * DAY_MS - 30 * 60_000;
    const range = `startTime: ${start}, endTime: ${start + 2 * DAY_MS - 1}`;
    const answer = await graphql(gateway, `{ callCenterInstances { id intervalReports(interval: HOURLY, ${range}) { statsTime } } }`);
    expect(answer.errors![0].extensions).toMatchObject({ code: 'OPERATION_TOO_EXPENSIVE', cost: 250 * 48 });
    expect(reportCalls(gateway)).toBe(0);
    expect(listCalls(gateway)).toBe(3); // the listing (250 instances, 3 pages) that priced it

    // One instance of the same selection is within the budget.
    const single = await graphql(gateway, `{ callCenterInstance(id: "ccc-many-0") { intervalReports(interval: HOURLY, ${range}) { statsTime } } }`);
    expect(single.errors).toBeUndefined();
    // A status filter prices only the instances it leaves (none is STOPPED here).
    const filtered = await graphql(gateway, `{ callCenterInstances(statuses: [STOPPED]) { id intervalReports(interval: HOURLY, ${range}) { statsTime } } }`);
    expect(filtered).toEqual({ data: { callCenterInstances: [] } });
    const listOnly = await graphql(gateway, '{ callCenterInstances { id name } }');
    expect(listOnly.errors).toBeUndefined();
    expect(listOnly.data.callCenterInstances).toHaveLength(250);
    expect(listCalls(gateway)).toBe(3); // still the one listing
  });
});
