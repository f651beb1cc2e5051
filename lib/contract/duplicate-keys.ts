import { createScanner } from "jsonc-parser";

/**
 * The first object key that appears twice in one JSON object, at any depth,
 * as a path (`amount`, `items[1].sku`); undefined when every key is unique.
 * Keys compare as decoded strings, so `"a"` and `"\u0061"` are the same key.
 *
 * Why: JSON.parse keeps the last copy and SQL over the lake's raw text may
 * read the first, so `{"amount":2,"amount":2000}` would be two different
 * orders on two paths (issue 9); the order contract calls it invalid instead.
 *
 * `text` must be valid JSON and `parsed` its JSON.parse value. Fast path: in
 * valid JSON every key is followed by exactly one colon outside strings, and
 * JSON.parse keeps one property per distinct key, so there is a repeat exactly
 * when the text has more such colons than the value has properties. Without a
 * backslash in the text every string reads as written, so the colons outside
 * strings are all colons less those in the parsed keys and strings (a dropped
 * repeat's key and value are missing from those, so a repeat still shows),
 * counted with native `indexOf` rather than a character loop (half the
 * cost; issue 13, the workers' profile). With one, a scan that knows string
 * bounds counts them. Only on a mismatch does jsonc-parser (comments
 * disallowed) walk the text to name the key (it costs about as much as
 * decoding the whole order). Never throws.
 */
export function findDuplicateKey(text: string, parsed: unknown): string | undefined {
  const unique = text.includes("\\") ? keyColons(text) === propertyCount(parsed, false) : colonsIn(text) === propertyCount(parsed, true);
  return unique ? undefined : locateDuplicateKey(text);
}

/** Every colon in `text`. */
function colonsIn(text: string): number {
  let colons = 0;
  for (let i = text.indexOf(":"); i !== -1; i = text.indexOf(":", i + 1)) colons++;
  return colons;
}

/** Colons outside strings: one per key in valid JSON. */
function keyColons(text: string): number {
  let colons = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x3a) colons++;
  }
  return colons;
}

/**
 * Own properties of every object in a JSON value (JSON.parse makes even `__proto__` an own property), plus
 * with `withColons` the colons in their keys and in every string. Walks with an explicit stack: a message
 * nested thousands of levels deep (it fits in 64 KiB) must not overflow the call stack (it made decodeOrder
 * throw instead of rejecting the message; issue 13, fault suite).
 */
function propertyCount(root: unknown, withColons: boolean): number {
  let count = 0;
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value !== "object" || value === null) {
      if (withColons && typeof value === "string") count += colonsIn(value);
      continue;
    }
    if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
      continue;
    }
    for (const key in value) {
      count += withColons ? 1 + colonsIn(key) : 1;
      pending.push((value as Record<string, unknown>)[key]);
    }
  }
  return count;
}

// jsonc-parser's SyntaxKind is a const enum, which erasable TypeScript cannot import: its values, as documented.
const OPEN_BRACE = 1;
const CLOSE_BRACE = 2;
const OPEN_BRACKET = 3;
const CLOSE_BRACKET = 4;
const COMMA = 5;
const STRING = 10;
const EOF = 17;

/** An object or array the scan is inside: its name in its parent, its keys so far or its current index. */
interface Frame {
  name: string | number | undefined;
  keys: Set<string> | undefined;
  index: number;
  expectKey: boolean;
  lastKey: string;
}

/**
 * The path of the first repeated key, found by scanning the text with jsonc-parser's tokenizer and an
 * explicit stack (its recursive `visit` overflows the call stack on deeply nested input). `text` must be valid JSON.
 */
export function locateDuplicateKey(text: string): string | undefined {
  const scanner = createScanner(text, true);
  const frames: Frame[] = [];
  const childName = (parent: Frame | undefined) => (parent === undefined ? undefined : parent.keys ? parent.lastKey : parent.index);
  for (let token = scanner.scan(); token !== EOF; token = scanner.scan()) {
    const top = frames.at(-1);
    switch (token) {
      case OPEN_BRACE:
        frames.push({ name: childName(top), keys: new Set(), index: 0, expectKey: true, lastKey: "" });
        break;
      case OPEN_BRACKET:
        frames.push({ name: childName(top), keys: undefined, index: 0, expectKey: false, lastKey: "" });
        break;
      case CLOSE_BRACE:
      case CLOSE_BRACKET:
        frames.pop();
        break;
      case COMMA:
        if (top?.keys) top.expectKey = true;
        else if (top) top.index++;
        break;
      case STRING:
        if (top?.keys && top.expectKey) {
          const key = scanner.getTokenValue();
          if (top.keys.has(key)) return pathText([...frames.slice(1).map((f) => f.name!), key]);
          top.keys.add(key);
          top.lastKey = key;
          top.expectKey = false;
        }
        break;
    }
  }
  return undefined;
}
function pathText(path: (string | number)[]): string {
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`)).join("");
}
