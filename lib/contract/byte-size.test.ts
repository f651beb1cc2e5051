import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatByteSize, parseByteSize } from "./byte-size.ts";

describe("byte sizes", () => {
  it("reads decimal and binary units, and bare bytes", () => {
    expect(parseByteSize("2GB")).toBe(2_000_000_000);
    expect(parseByteSize("512 MB")).toBe(512_000_000);
    expect(parseByteSize("1GiB")).toBe(1024 ** 3);
    expect(parseByteSize("1.5kib")).toBe(1536);
    expect(parseByteSize("4096")).toBe(4096);
  });

  it("refuses what is not a size", () => {
    for (const text of ["", "lots", "2 GX", "-1GB", "1e3"]) expect(() => parseByteSize(text), text).toThrow(/not a byte size/);
  });

  it("formats the shortest exact form, which reads back to the same number", () => {
    expect(formatByteSize(2_000_000_000)).toBe("2 GB");
    expect(formatByteSize(512 * 1024 ** 2)).toBe("512 MiB");
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.constantFrom("kB", "MB", "GB", "KiB", "MiB", "GiB"), (n, unit) => {
        const bytes = parseByteSize(`${n}${unit}`);
        expect(parseByteSize(formatByteSize(bytes).replace(" ", ""))).toBe(bytes);
      }),
    );
  });
});
