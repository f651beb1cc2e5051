import { visit } from "jsonc-parser";

/**
 * The first object key that appears twice in one JSON object, at any depth,
 * as a path (`amount`, `items[1].sku`); undefined when every key is unique.
 * Keys compare as decoded strings, so `"a"` and `"\u0061"` are the same key.
 *
 * Why: JSON.parse keeps the last copy and SQL over the lake's raw text may
 * read the first, so `{"amount":2,"amount":2000}` would be two different
 * orders on two paths (issue 9); the order contract calls it invalid instead.
 * `text` must already be valid JSON (JSON.parse accepted it): this only looks
 * at keys. Scanning is jsonc-parser's (comments disallowed); never throws.
 */
export function findDuplicateKey(text: string): string | undefined {
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
