import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { findDuplicateKey, locateDuplicateKey } from "./duplicate-keys.ts";

/** A JSON tree whose objects are entry lists, so a generated object may repeat a key. */
type Tree = { kind: "leaf"; value: null | number | string | boolean } | { kind: "array"; items: Tree[] } | { kind: "object"; entries: [string, Tree][] };

// Keys and strings with colons, quotes and backslashes: the fast path counts colons outside strings.
const key = fc.constantFrom("a", "b", "amount", "é", 'k"q', "", "a:b", "\\", "\\:", "__proto__", "constructor");
const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 4 }), fc.constantFrom(":", '":"', "\\", '\\":'), fc.boolean()).map((value) => ({ kind: "leaf" as const, value })),
    fc.array(tie("tree"), { maxLength: 3 }).map((items) => ({ kind: "array" as const, items })),
    fc.array(fc.tuple(key, tie("tree")), { maxLength: 4 }).map((entries) => ({ kind: "object" as const, entries })),
  ),
}));

/** Serializes a tree, writing every other key of an object with \u escapes: the scanner must compare decoded keys. */
function serialize(t: Tree, escape: boolean): string {
  if (t.kind === "leaf") return JSON.stringify(t.value);
  if (t.kind === "array") return `[${t.items.map((i) => serialize(i, escape)).join(",")}]`;
  const keyText = (k: string, i: number) => (escape && i % 2 === 0 ? `"${[...k].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}"` : JSON.stringify(k));
  return `{${t.entries.map(([k, v], i) => `${keyText(k, i)} : ${serialize(v, !escape)}`).join(" ,")}}`;
}

/** Brute force: does any object in the tree list one key twice? */
function oracleHasDuplicate(t: Tree): boolean {
  if (t.kind === "leaf") return false;
  if (t.kind === "array") return t.items.some(oracleHasDuplicate);
  const keys = t.entries.map(([k]) => k);
  return new Set(keys).size !== keys.length || t.entries.some(([, v]) => oracleHasDuplicate(v));
}

describe("findDuplicateKey", () => {
  it("finds a repeated key exactly when some object repeats one, at any depth and however escaped", () => {
    fc.assert(
      fc.property(tree, fc.boolean(), (t, escape) => {
        const text = serialize(t, escape);
        expect(() => JSON.parse(text)).not.toThrow();
        const expected = oracleHasDuplicate(t);
        // Both the fast count check and the full walk agree with the oracle.
        expect(findDuplicateKey(text, JSON.parse(text)) !== undefined).toBe(expected);
        expect(locateDuplicateKey(text) !== undefined).toBe(expected);
      }),
      { numRuns: 3_000 },
    );
  });

  it("names the repeated key by its path", () => {
    const find = (text: string) => findDuplicateKey(text, JSON.parse(text));
    expect(find('{"order_id":"o","amount":2,"amount":2000}')).toBe("amount");
    expect(find('{"x":[0,{"y":{"z":1,"\\u007a":2}}]}')).toBe("x[1].y.z");
    expect(find('{"x":{"k":1},"y":{"k":1}}')).toBeUndefined();
    expect(find('{"a:b":"c:\\":d","__proto__":{"k":1},"e":"}:{"}')).toBeUndefined();
    expect(find('{"__proto__":1,"__proto__":2}')).toBe("__proto__");
    expect(find("[1,2]")).toBeUndefined();
  });
});

describe("findDuplicateKey on deeply nested input", () => {
  // Regression (fault suite, issue 13): 5,000 levels fit in 64 KiB and used to overflow the call stack, so decodeOrder
  // threw instead of rejecting and a worker could not get past the message.
  it.each([5_000, 30_000])("walks %i levels without overflowing the stack, and still names a repeat at the bottom", (depth) => {
    const unique = '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
    expect(findDuplicateKey(unique, JSON.parse(unique))).toBeUndefined();
    const arrays = '{"x":' + "[".repeat(depth) + "]".repeat(depth) + "}";
    expect(findDuplicateKey(arrays, JSON.parse(arrays))).toBeUndefined();
    const repeated = '{"a":'.repeat(depth) + '{"b":1,"b":2}' + "}".repeat(depth);
    const path = findDuplicateKey(repeated, JSON.parse(repeated));
    expect(path).toBe(`${Array(depth).fill("a").join(".")}.b`);
  });
});
