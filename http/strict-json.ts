/**
 * Strict JSON for signed merchant bodies. JSON.parse alone accepts things a payment API must not guess about:
 * a duplicate key (the last one silently wins, so two readers of the same signed bytes can disagree), an amount
 * written as 1999.0 or 1.999e3 (every number in the merchant API is an integer of fen, seconds or ids), text
 * PostgreSQL cannot store (NUL) or that UTF-8 cannot carry (a lone surrogate, silently replaced), and nesting no
 * request needs. Each is a 4000, refused before anything is looked up or written.
 */
import { DomainError, ErrorCode } from '../domain/errors';

/** Far deeper than any merchant request (their deepest field is an array of ids), shallow enough to walk. */
const MAX_DEPTH = 16;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function refuse(why: string): never {
  throw new DomainError(ErrorCode.VALIDATION, `请求体不是合法的 JSON: ${why}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses a request body (UTF-8 bytes), or throws a 4000 naming the first problem. */
export function parseStrictJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    refuse('not UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    refuse('syntax');
  }
  scanTokens(text);
  checkStrings(value);
  return value;
}

/**
 * One pass over text JSON.parse has accepted: tracks the keys of every open object (duplicates) and the shape of
 * every number literal (integers only). Iterative, so nesting depth cannot exhaust the stack.
 */
function scanTokens(text: string): void {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') {
      if (open.length >= MAX_DEPTH) refuse(`nested deeper than ${MAX_DEPTH} levels`);
      open.push(c === '{' ? new Set() : null);
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      open.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = open[open.length - 1] instanceof Set;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const keys = open[open.length - 1] as Set<string>;
        if (keys.has(key)) refuse(`duplicate key ${JSON.stringify(key).slice(0, 40)}`);
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i;
      while (j < text.length && /[-+0-9.eE]/.test(text[j])) j++;
      const literal = text.slice(i, j);
      if (!/^-?(0|[1-9][0-9]*)$/.test(literal)) refuse(`numbers must be integers: ${literal.slice(0, 40)}`);
      if (!Number.isSafeInteger(Number(literal)) || literal === '-0') refuse(`integer out of range: ${literal.slice(0, 40)}`);
      i = j - 1;
    }
  }
}

/**
 * A JSON.parse reviver for the bodies parsed by express.json (console, cashier, registration): text PostgreSQL
 * cannot store makes the parse fail, which the error middleware answers as 4000.
 */
export function storableTextReviver(key: string, value: unknown): unknown {
  // A SyntaxError, as JSON.parse would throw: the body parser strips other errors' fields on the way out.
  const bad = (s: string) => s.includes('\u0000') || LONE_SURROGATE.test(s);
  if (bad(key) || (typeof value === 'string' && bad(value))) throw new SyntaxError('text may not contain NUL or a lone surrogate');
  return value;
}

/** Every string of a parsed value (a body, a query), key or value, must be storable text: no NUL, no lone surrogate. */
export function assertStorableText(root: unknown): void {
  checkStrings(root);
}

function checkStrings(root: unknown): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') checkText(v);
    else if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        checkText(k);
        stack.push(inner);
      }
    }
  }
}

function checkText(s: string): void {
  if (s.includes('\u0000')) refuse('text may not contain NUL (\\u0000)');
  if (LONE_SURROGATE.test(s)) refuse('text may not contain a lone surrogate');
}
