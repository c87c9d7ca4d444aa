/**
 * The shared instance listing (issue 13 §1): served for its TTL, read once for concurrent callers,
 * never kept when it fails; and the per-operation catalog over it (permissions first, one listing
 * per operation, a miss reads a listing older than MISS_REFRESH_MS again).
 */
import { CachedInstanceDirectory } from '../../src/cache/CachedInstanceDirectory';
import { GatewayError } from '../../src/reports/errors';
import { InstanceCatalog, MISS_REFRESH_MS } from '../../src/reports/InstanceCatalog';
import type { InstanceDirectory, InstanceInfo } from '../../src/reports/InstanceDirectory';
import { hasReportsToFetch } from '../../src/reports/InstanceDirectory';

const info = (id: string, status: InstanceInfo['status'] = 'RUNNING'): InstanceInfo => ({ id, name: `Center ${id}`, status, createTime: 1_700_000_000_000, description: null, domainName: id });

class FakeDirectory implements InstanceDirectory {
  calls = 0;
  instances: InstanceInfo[] = [info('a'), info('b', 'STOPPED')];
  failNext: GatewayError | undefined;
  release: (() => void) | undefined;
  async listInstances(): Promise<InstanceInfo[]> {
    this.calls++;
    await new Promise<void>((resolve) => (this.release = resolve));
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    return [...this.instances];
  }
}

/** Lets the fake answer the call in flight once it has been made. */
async function answered<T>(fake: FakeDirectory, promise: Promise<T>): Promise<T> {
  while (!fake.release) await new Promise((r) => setImmediate(r));
  const release = fake.release;
  fake.release = undefined;
  release();
  return promise;
}

describe('CachedInstanceDirectory', () => {
  let clock = 0;
  let fake: FakeDirectory;
  let directory: CachedInstanceDirectory;
  beforeEach(() => {
    clock = 1_000_000;
    fake = new FakeDirectory();
    directory = new CachedInstanceDirectory(fake, { ttlMs: 60_000, clock: () => clock });
  });

  it('serves one listing for its TTL, then reads again', async () => {
    const first = await answered(fake, directory.listing());
    expect(first.instances.map((i) => i.id)).toEqual(['a', 'b']);
    expect(first.expiresAt).toBe(clock + 60_000);
    clock += 59_999;
    expect(await directory.listing()).toBe(first);
    expect(fake.calls).toBe(1);
    clock += 1;
    fake.instances = [info('a', 'RELEASED')];
    const second = await answered(fake, directory.listing());
    expect(second.byId.get('a')!.status).toBe('RELEASED');
    expect(fake.calls).toBe(2);
  });

  it('joins concurrent callers into one read', async () => {
    const both = Promise.all([directory.listing(), directory.listInstances(), directory.listing()]);
    const [x, list, y] = await answered(fake, both);
    expect(x).toBe(y);
    expect(list.map((i) => i.id)).toEqual(['a', 'b']);
    expect(fake.calls).toBe(1);
  });

  it('never keeps a failure: its callers get the error, the next caller reads again', async () => {
    fake.failNext = new GatewayError('UPSTREAM_UNAVAILABLE', 'down');
    await expect(answered(fake, directory.listing())).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    const healed = await answered(fake, directory.listing());
    expect(healed.instances).toHaveLength(2);
    expect(fake.calls).toBe(2);
  });

  it('a younger listing on request (maxAgeMs), never older than the TTL', async () => {
    await answered(fake, directory.listing());
    clock += 10_000;
    await directory.listing({ maxAgeMs: 20_000 });
    expect(fake.calls).toBe(1);
    await answered(fake, directory.listing({ maxAgeMs: 5_000 }));
    expect(fake.calls).toBe(2);
  });
});

describe('InstanceCatalog (one operation)', () => {
  let clock = 0;
  let fake: FakeDirectory;
  let directory: CachedInstanceDirectory;
  beforeEach(async () => {
    clock = 1_000_000;
    fake = new FakeDirectory();
    directory = new CachedInstanceDirectory(fake, { ttlMs: 60_000, clock: () => clock });
    await answered(fake, directory.listing());
  });
  const catalog = (canRead: (id: string) => boolean = () => true) => new InstanceCatalog(directory, { canRead, clock: () => clock });

  it('FORBIDDEN before reading anything, the same for unknown ids', async () => {
    directory.clear();
    const c = catalog((id) => id === 'b');
    await expect(c.info('a')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(c.info('zz')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(fake.calls).toBe(1); // only the beforeEach listing
  });

  it('an id missing from a fresh listing is NOT_FOUND without another read', async () => {
    await expect(catalog().info('zz')).rejects.toMatchObject({ code: 'NOT_FOUND', details: { instanceId: 'zz' } });
    expect(fake.calls).toBe(1);
  });

  it(`an id missing from a listing older than ${MISS_REFRESH_MS} ms reads it again, once per batch: a new instance is found`, async () => {
    clock += MISS_REFRESH_MS;
    fake.instances = [...fake.instances, info('c')];
    const c = catalog();
    const found = answered(fake, Promise.all([c.info('c'), c.info('a'), c.info('zz').catch((e) => e)]));
    const [newOne, old, missing] = await found;
    expect(newOne.id).toBe('c');
    expect(old.id).toBe('a');
    expect(missing).toMatchObject({ code: 'NOT_FOUND' });
    expect(fake.calls).toBe(2);
  });

  it('a miss refresh that fails leaves the older listing answering', async () => {
    clock += MISS_REFRESH_MS;
    fake.failNext = new GatewayError('UPSTREAM_UNAVAILABLE', 'down');
    const c = catalog();
    const [a, missing] = await answered(fake, Promise.all([c.info('a'), c.info('zz').catch((e) => e)]));
    expect(a.id).toBe('a');
    expect(missing).toMatchObject({ code: 'NOT_FOUND' });
    expect(fake.calls).toBe(2);
  });

  it('one operation makes one listing attempt: a failure answers its later fields too, the next operation asks again', async () => {
    directory.clear();
    fake.failNext = new GatewayError('UPSTREAM_UNAVAILABLE', 'down');
    const c = catalog();
    await expect(answered(fake, c.readable())).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    await expect(c.info('a')).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(fake.calls).toBe(2); // the beforeEach listing and the failed one
    expect((await answered(fake, catalog().info('a'))).id).toBe('a');
    expect(fake.calls).toBe(3);
  });

  it('readable() keeps the caller\'s instances and the statuses asked for', async () => {
    expect((await catalog().readable()).map((i) => i.id)).toEqual(['a', 'b']);
    expect((await catalog((id) => id === 'b').readable()).map((i) => i.id)).toEqual(['b']);
    expect((await catalog().readable(['STOPPED'])).map((i) => i.id)).toEqual(['b']);
    expect(fake.calls).toBe(1);
  });
});

it('hasReportsToFetch: RUNNING and STOPPED only', () => {
  expect(['RUNNING', 'STOPPED', 'CREATING', 'RELEASED'].map((s) => hasReportsToFetch(info('x', s as InstanceInfo['status'])))).toEqual([true, true, false, false]);
});
