/*
 * The one duration parser of the frontend, the same as the backend's (pkg/duration): a Go duration ("90s", "1h30m",
 * "1.5h") or a whole or decimal number of days or weeks ("3d", "1.5d", "1w"), not negative and at most 366d. Both
 * read the cases of pkg/duration/testdata/parse.json (src/__tests__/duration.test.ts).
 */

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 36e5 };
const DAY_MS = 864e5;
const WEEK_MS = 7 * DAY_MS;
const MAX_MS = 366 * DAY_MS;
const MAX_TEXT = '366d';
/** time.ParseDuration refuses what overflows int64 nanoseconds. */
const INT64_NS_MS = 9223372036854.775;

const GO_DURATION = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)$/;
const GO_PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const PLAIN_DECIMAL = /^(\d+\.?\d*|\.\d+)$/;

/** tooLong: the error is the 366d maximum (durationError words that one apart). */
export type ParsedDuration = { ms: number; error?: undefined } | { ms?: undefined; error: string; tooLong?: true };

/** Milliseconds of a duration, or the backend's error for it. */
export function parseDuration(input: string): ParsedDuration {
  const s = input.trim();
  if (s === '') {
    return { error: 'empty duration: want e.g. 90s, 15m, 6h, 3d or 1w' };
  }
  const invalid = { error: `invalid duration "${s}": want e.g. 90s, 15m, 6h, 3d or 1w` };
  const tooLong = { error: `duration "${s}" is over the maximum of ${MAX_TEXT}`, tooLong: true as const };
  const unit = s[s.length - 1];
  if (unit === 'd' || unit === 'w') {
    const num = s.slice(0, -1);
    if (!PLAIN_DECIMAL.test(num)) {
      return invalid;
    }
    const ms = Number(num) * (unit === 'd' ? DAY_MS : WEEK_MS);
    return ms > MAX_MS ? tooLong : { ms };
  }
  const m = GO_DURATION.exec(s);
  if (!m) {
    return invalid;
  }
  let ms = 0;
  for (const p of m[2].matchAll(GO_PART)) {
    ms += Number(p[1]) * UNIT_MS[p[2]];
  }
  if (ms > INT64_NS_MS) {
    return invalid;
  }
  if (m[1] === '-' && ms > 0) {
    return { error: `invalid duration "${s}": must not be negative` };
  }
  return ms > MAX_MS ? tooLong : { ms };
}
