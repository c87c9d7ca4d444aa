/**
 * A small seeded random source for the simulator.
 *
 * Why not Math.random: the simulated call center must give the same activity for the same
 * instance and hour on every run and in every process, whatever else was asked before, so each
 * hour draws from its own generator seeded by a hash of its identity.
 *
 * The generator is sfc32 (small fast counter, 128-bit state) seeded by cyrb128, a string hash
 * that spreads similar strings (`ccc-sim-1|...`, `ccc-sim-2|...`) over the whole state space.
 */

/** cyrb128: four 32-bit hashes of a string, used as a 128-bit seed. */
export function hashString128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** A uniform number in [0, 1) that depends only on `text` (for one-off decisions and profiles). */
export function hashToUnit(text: string): number {
  return hashString128(text)[0] / 4294967296;
}

export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Box-Muller yields two normals per draw; the second is kept for the next call. */
  private spareGaussian: number | null = null;

  constructor(seedText: string) {
    [this.a, this.b, this.c, this.d] = hashString128(seedText);
    // Discard the first outputs: sfc32's early outputs still correlate with the seed.
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Integer uniform in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** Exponential with the given mean (memoryless waits: queue times, patience). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Standard normal. */
  gaussian(): number {
    if (this.spareGaussian !== null) {
      const spare = this.spareGaussian;
      this.spareGaussian = null;
      return spare;
    }
    const u = 1 - this.next();
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareGaussian = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal given its median: right-skewed durations such as talk time. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.gaussian());
  }

  /** Poisson-distributed count (arrivals in an hour). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean < 30) {
      // Knuth: exact and cheap for the small means of one hour of one instance.
      const limit = Math.exp(-mean);
      let k = 0;
      let product = this.next();
      while (product > limit) {
        k++;
        product *= this.next();
      }
      return k;
    }
    // Normal approximation: good enough for a simulator above 30 and O(1).
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.gaussian()));
  }

  /** Index drawn with the given (unnormalized) weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
}
