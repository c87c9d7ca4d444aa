/**
 * The archive's lock and progress in process memory: one process without Redis (`npm start`
 * with no REDIS_URL). The archive then lives only as long as the process, like the in-process
 * cache it writes to (docs/archive.md). The lock is trivially this process's; tokens and fences
 * still behave as in Redis, so the domain code is the same.
 */
import type { BucketRef, BucketStore, BucketWrite } from '../reports/BucketStore';
import { seriesId, type BucketSeries } from '../reports/buckets';
import { FencedOutError, type ArchiveLock, type ArchiveProgressStore, type ProgressChange, type SeriesProgress } from '../reports/archive/ArchiveProgress';
import type { MemoryBucketStore } from './MemoryBucketStore';

export class MemoryArchiveState implements ArchiveLock, ArchiveProgressStore {
  private lastToken = 0;
  private holder: { token: number; until: number } | undefined;
  private readonly fences = new Map<string, number>();
  private readonly progress = new Map<string, { earliest?: number; watermark?: number; missing: Set<number> }>();

  constructor(
    private readonly memory: MemoryBucketStore,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(ttlMs: number): Promise<number | undefined> {
    if (this.holder && this.holder.until > this.now()) return undefined;
    this.holder = { token: ++this.lastToken, until: this.now() + ttlMs };
    return this.holder.token;
  }

  async renew(token: number, ttlMs: number): Promise<boolean> {
    if (this.holder?.token !== token || this.holder.until <= this.now()) return false;
    this.holder.until = this.now() + ttlMs;
    return true;
  }

  async release(token: number): Promise<void> {
    if (this.holder?.token === token) this.holder = undefined;
  }

  async fence(token: number, instanceId: string): Promise<void> {
    this.check(token, instanceId);
  }

  private check(token: number, instanceId: string): void {
    const seen = this.fences.get(instanceId) ?? 0;
    if (token < seen) throw new FencedOutError(token, instanceId);
    this.fences.set(instanceId, token);
  }

  async read(series: BucketSeries): Promise<SeriesProgress> {
    const state = this.progress.get(seriesId(series));
    return { earliest: state?.earliest, watermark: state?.watermark, missing: [...(state?.missing ?? [])].sort((a, b) => a - b) };
  }

  async record(token: number, series: BucketSeries, change: ProgressChange): Promise<void> {
    this.check(token, series.instanceId);
    const id = seriesId(series);
    const state = this.progress.get(id) ?? { missing: new Set<number>() };
    this.progress.set(id, state);
    state.earliest ??= change.earliest;
    if (change.watermark !== undefined && !(change.watermark <= (state.watermark ?? -Infinity))) state.watermark = change.watermark;
    for (const statsTime of change.addMissing ?? []) state.missing.add(statsTime);
    for (const statsTime of change.removeMissing ?? []) state.missing.delete(statsTime);
  }

  bucketStore(token: number): BucketStore {
    return {
      getMany: async (refs: readonly BucketRef[]) => refs.map((ref) => this.memory.get(ref)),
      setMany: async (writes: readonly BucketWrite[]) => {
        for (const write of writes) this.check(token, write.series.instanceId);
        for (const write of writes) this.memory.set(write);
      },
    };
  }
}
