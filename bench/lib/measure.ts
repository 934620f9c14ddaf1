/**
 * Shared pieces of the in-process CPU benchmarks (bench/codecs.ts, bench/dtmfTones.ts): the result shape, the
 * deterministic speech-like input and the CPU-time measurement loop.
 */

/** One measured figure. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

/** Deterministic speech-like signal (same recipe as test/helpers/tone.ts generateSpeechLike). */
export function speechLike(rate: number, samples: number): Int16Array {
  const out = new Int16Array(samples);
  let ph = 0;
  let seed = 1;
  const maxF = Math.min(3400, 0.45 * rate);
  for (let i = 0; i < samples; i++) {
    const t = i / rate;
    const f0 = 110 + (110 * (1 + Math.sin(2 * Math.PI * 1.3 * t))) / 2;
    ph += (2 * Math.PI * f0) / rate;
    let v = 0;
    let norm = 0;
    for (let k = 1; k * f0 < maxF; k++) {
      v += Math.sin(k * ph) / k;
      norm += 1 / k;
    }
    seed = (seed * 1103515245 + 12345) >>> 0;
    const env = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t);
    out[i] = Math.round((8000 * env * v) / Math.max(1, norm / 2) + 160 * (seed / 2 ** 31 - 1));
  }
  return out;
}

/**
 * Runs `fn(i)` for about `ms` of wall time after `warmup` calls (in batches of `batch` between clock reads); returns
 * CPU µs per call. CPU time of this process (getrusage through process.cpuUsage), not wall time, so that other load
 * on a shared machine that takes the core away does not count (cache and memory-bandwidth contention still do).
 */
export function timePerCall(fn: (i: number) => void, ms: number, warmup = 50, batch = 20): number {
  for (let i = 0; i < warmup; i++) {
    fn(i);
  }
  let calls = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - start < ms) {
    for (let k = 0; k < batch; k++) {
      fn(calls++);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / calls;
}
