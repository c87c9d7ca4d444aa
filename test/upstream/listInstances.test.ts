/**
 * Upstream `ListInstances` (issue 13 §1): the real signed CccClient pages through the emulator's
 * instance list, validates every page whole, and maps upstream's errors as for reports.
 */
import { CccEmulator, CCC_API_VERSION, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, emulatedInstance, signRpcCall } from '../../src/emulator';
import { CachedInstanceDirectory } from '../../src/cache/CachedInstanceDirectory';
import { GatewayError } from '../../src/reports/errors';
import { CccClient, type MalformedInstancePageEvent } from '../../src/upstream/CccClient';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `ccc-listed-${String(i).padStart(3, '0')}`);

let emulator: CccEmulator;
let client: CccClient;
const malformed: MalformedInstancePageEvent[] = [];

beforeAll(async () => {
  emulator = new CccEmulator();
  await emulator.start(0);
});
afterAll(async () => {
  client?.shutdown();
  await emulator.stop();
});
beforeEach(() => {
  emulator.options = { ...emulator.options, instances: ids(250), instanceDetails: {}, transformInstancePage: undefined, numbersAsStrings: false };
  emulator.options.failures = { ...emulator.options.failures, rate: 0 };
  emulator.resetStats();
  malformed.length = 0;
  client?.shutdown();
  client = new CccClient({
    endpoint: new URL(emulator.url!).host,
    protocol: 'http',
    region: 'cn-shanghai',
    timeoutMs: 5_000,
    retryBaseDelayMs: 1,
    accessKey: { id: DEFAULT_ACCESS_KEY_ID, secret: DEFAULT_ACCESS_KEY_SECRET },
    onMalformedInstancePage: (event) => malformed.push(event),
  });
});

const listCalls = () => emulator.stats.log.filter((call) => call.action === 'ListInstances');

describe('CccClient.listInstances against the emulator', () => {
  it('pages through 250 instances in 3 calls of 100, in upstream order, with every field', async () => {
    const instances = await client.listInstances();
    expect(instances.map((i) => i.id)).toEqual(ids(250));
    expect(listCalls()).toHaveLength(3);
    expect(emulator.stats.byCode).toEqual({ OK: 3 });
    const wire = emulatedInstance(ids(250)[17]);
    expect(instances[17]).toEqual({
      id: wire.Id,
      name: wire.Name,
      status: 'RUNNING',
      createTime: wire.CreateTime,
      description: wire.Description,
      domainName: wire.DomainName,
    });
    expect(Number.isSafeInteger(instances[17].createTime)).toBe(true);
  });

  it('reads exactly one page for 100 instances, and one for none', async () => {
    emulator.options.instances = ids(100);
    expect(await client.listInstances()).toHaveLength(100);
    expect(listCalls()).toHaveLength(1);
    emulator.options.instances = [];
    expect(await client.listInstances()).toEqual([]);
    expect(listCalls()).toHaveLength(2);
  });

  it('reads numbers sent as JSON strings, and statuses set per instance', async () => {
    emulator.options.numbersAsStrings = true;
    emulator.options.instanceDetails = { [ids(250)[3]]: { Status: 'RELEASED' }, [ids(250)[204]]: { Status: 'STOPPED', Description: '' } };
    const instances = await client.listInstances();
    expect(instances).toHaveLength(250);
    expect(instances[3].status).toBe('RELEASED');
    expect(instances[204]).toMatchObject({ status: 'STOPPED', description: null });
    expect(instances[0].createTime).toBe(emulatedInstance(ids(250)[0]).CreateTime);
  });

  it('retries an injected outage like a report call', async () => {
    emulator.options.failures = { rate: 1, codes: ['ServiceUnavailable'], seed: 1 };
    let failure: unknown;
    await client.listInstances().catch((e) => (failure = e));
    expect(failure).toBeInstanceOf(GatewayError);
    expect((failure as GatewayError).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(listCalls().length).toBe(3); // maxAttempts: 3, all on page 1
  });

  const CASES: [string, (body: any) => void, RegExp][] = [
    ['Data.List missing', (b) => delete b.Data.List, /Data\.List is missing/],
    ['Data missing', (b) => delete b.Data, /Data is missing/],
    ['a Status outside the enum', (b) => (b.Data.List[5].Status = 'DELETED'), /Data\.List\[5\]\.Status is not one of RUNNING, STOPPED, CREATING, RELEASED/],
    ['an item without Id', (b) => delete b.Data.List[0].Id, /Data\.List\[0\]\.Id is missing/],
    ['a CreateTime that is not a number', (b) => (b.Data.List[1].CreateTime = 'yesterday'), /Data\.List\[1\]\.CreateTime is not a non-negative integer/],
    ['TotalCount missing', (b) => delete b.Data.TotalCount, /Data\.TotalCount is missing/],
    ['a page other than the one asked', (b) => (b.Data.PageNumber = 1), /Data\.PageNumber is 1, page 2 was asked for/],
    ['two items with one Id', (b) => (b.Data.List[2].Id = b.Data.List[1].Id), /Data\.List\[1\] and Data\.List\[2\] have the same Id/],
  ];

  it.each(CASES)('%s on page 2: UPSTREAM_ERROR with the RequestId, no partial list, nothing cached, then heals', async (_name, corrupt, message) => {
    emulator.options.transformInstancePage = (body, page) => {
      if (page.pageNumber === 2) corrupt(body);
      return body;
    };
    const directory = new CachedInstanceDirectory(client, { ttlMs: 60_000 });
    let failure: GatewayError | undefined;
    await directory.listing().catch((e) => (failure = e));
    expect(failure?.code).toBe('UPSTREAM_ERROR');
    expect(failure?.message).toMatch(message);
    expect(failure?.message).toMatch(/malformed answer/);
    expect(failure?.details.upstreamRequestId).toEqual(expect.any(String));
    expect(malformed).toHaveLength(1); // once for the operator, not once per retry: not retried
    expect(malformed[0]).toMatchObject({ query: { action: 'ListInstances', pageNumber: 2 }, problem: expect.stringMatching(message) });
    expect(listCalls()).toHaveLength(2);

    // Healed: the next listing asks upstream again (nothing from the failed one was kept).
    emulator.options.transformInstancePage = undefined;
    const listing = await directory.listing();
    expect(listing.instances).toHaveLength(250);
    expect(listCalls()).toHaveLength(5);
    expect(directory.listingsRead).toBe(2);
  });
});

describe('ListInstances in the emulator', () => {
  const call = async (query: Record<string, string>, accessKeySecret = DEFAULT_ACCESS_KEY_SECRET) => {
    // Signed raw HTTP, to ask for pages the client never asks for (it always sends PageSize 100).
    const signed = signRpcCall({ baseUrl: emulator.url!, action: 'ListInstances', version: CCC_API_VERSION, query, accessKeyId: DEFAULT_ACCESS_KEY_ID, accessKeySecret });
    const response = await fetch(signed.url, { method: signed.method, headers: signed.headers, body: signed.body });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('answers a page of the size asked, with TotalCount, and the parameter errors of the service', async () => {
    const ok = await call({ PageNumber: '3', PageSize: '7' });
    expect(ok.status).toBe(200);
    expect(ok.body.Data).toMatchObject({ PageNumber: 3, PageSize: 7, TotalCount: 250 });
    expect(ok.body.Data.List.map((i: any) => i.Id)).toEqual(ids(250).slice(14, 21));

    expect(await call({ PageNumber: '1' })).toMatchObject({ status: 400, body: { Code: 'Parameter.Blank' } });
    expect(await call({ PageNumber: '1', PageSize: '101' })).toMatchObject({ status: 400, body: { Code: 'Parameter.Maximum' } });
    expect(await call({ PageNumber: '0', PageSize: '10' })).toMatchObject({ status: 400, body: { Code: 'Parameter.Minimum' } });
    expect(await call({ PageNumber: 'two', PageSize: '10' })).toMatchObject({ status: 400, body: { Code: 'Parameter.Invalid' } });
  });

  it('checks the signature as for reports', async () => {
    expect(await call({ PageNumber: '1', PageSize: '10' }, 'not-the-secret')).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
  });

  it('derives the same instance from the same id, every time', () => {
    expect(emulatedInstance('ccc-test')).toEqual(emulatedInstance('ccc-test'));
    expect(emulatedInstance('ccc-test').CreateTime).not.toBe(emulatedInstance('ccc-demo-1').CreateTime);
  });
});
