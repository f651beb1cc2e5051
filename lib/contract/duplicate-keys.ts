import { visit } from "jsonc-parser";

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
 * when the text has more such colons than the value has properties. Only then
 * does jsonc-parser (comments disallowed) walk the text to name the key (it
 * costs about as much as decoding the whole order). Never throws.
 */
export function findDuplicateKey(text: string, parsed: unknown): string | undefined {
  if (keyColons(text) === propertyCount(parsed)) return undefined;
  return locateDuplicateKey(text);
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

/** Own properties of every object in a JSON value (JSON.parse makes even `__proto__` an own property). */
function propertyCount(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += propertyCount(item);
    return count;
  }
  for (const key in value) {
    count++;
    count += propertyCount((value as Record<string, unknown>)[key]);
  }
  return count;
}

/** The path of the first repeated key, found by walking the text with jsonc-parser. */
export function locateDuplicateKey(text: string): string | undefined {
  const open: Set<string>[] = [];
  let duplicate: string | undefined;
  visit(
    text,
    {
      onObjectBegin: () => {
        open.push(new Set());
        return duplicate === undefined;
      },
      onObjectEnd: () => {
        open.pop();
      },
      onObjectProperty: (property, _offset, _length, _line, _character, pathSupplier) => {
        const keys = open.at(-1);
        if (duplicate !== undefined || !keys) return;
        if (keys.has(property)) duplicate = pathText([...pathSupplier(), property]);
        else keys.add(property);
      },
    },
    { disallowComments: true, allowTrailingComma: false },
  );
  return duplicate;
}

function pathText(path: (string | number)[]): string {
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`)).join("");
}
