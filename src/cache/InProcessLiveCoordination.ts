/**
 * Live series in one process (no Redis): this process is the only replica, so it always polls,
 * interest is its own subscribers, and snapshots have nobody else to reach.
 */
import type { LiveCoordination, LiveSeriesSpec, LiveSnapshot } from '../reports/LiveCoordination';

export class InProcessLiveCoordination implements LiveCoordination {
  async declareInterest(_spec: LiveSeriesSpec, _ttlMs: number): Promise<void> {}

  /** Only asked once this process has no subscribers left for the series: nobody else can have any. */
  async hasInterest(_key: string): Promise<boolean> {
    return false;
  }

  async claimPoller(_key: string, _ttlMs: number): Promise<boolean> {
    return true;
  }

  async releasePoller(_key: string): Promise<void> {}

  async publish(_snapshot: LiveSnapshot): Promise<void> {}

  onSnapshot(_listener: (snapshot: LiveSnapshot) => void): void {}

  async close(): Promise<void> {}
}
