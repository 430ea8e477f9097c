/**
 * Money is integer fen (分) everywhere inside Cashier Desk. These guards are the only place that decides
 * what a valid amount is; conversions to a provider's wire format live in that provider's adapter.
 */
export const MIN_AMOUNT_FEN = 1;
/** 100,000,000.00 yuan: Alipay's upper bound for total_amount, and comfortably below 2^53. */
export const MAX_AMOUNT_FEN = 10_000_000_000;

export function isValidFen(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= MIN_AMOUNT_FEN && value <= MAX_AMOUNT_FEN;
}

/** Formats fen as a yuan string with exactly two decimals using integer arithmetic only (no float rounding). */
export function fenToYuanString(fen: number): string {
  if (!Number.isSafeInteger(fen) || fen < 0) throw new RangeError(`amount must be a non-negative integer fen, got ${fen}`);
  const yuan = Math.floor(fen / 100);
  const cents = fen % 100;
  return `${yuan}.${cents.toString().padStart(2, '0')}`;
}

/** Parses a yuan string with at most two decimals ("19.99", "0.01", "100") into integer fen; throws on anything else. */
export function yuanStringToFen(yuan: string): number {
  const m = /^(0|[1-9]\d{0,10})(?:\.(\d{1,2}))?$/.exec(yuan);
  if (!m) throw new RangeError(`not a yuan amount with at most two decimals: ${JSON.stringify(yuan)}`);
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  if (!Number.isSafeInteger(fen)) throw new RangeError(`yuan amount out of range: ${yuan}`);
  return fen;
}
