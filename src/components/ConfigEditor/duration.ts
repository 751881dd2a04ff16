/** Milliseconds of a simple duration ("200ms", "5s", "1m", "1h30m", "3d"), or undefined. */
export function parseSimpleDuration(v: string): number | undefined {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1e3,
    m: 6e4,
    h: 36e5,
    d: 864e5,
    w: 6048e5,
  };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)/g;
  let total = 0;
  let consumed = 0;
  for (const m of v.trim().matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  return consumed === v.trim().length && consumed > 0 ? total : undefined;
}
