import { describe, expect, it } from "vitest";
import { DimensionManifestError, manifestPath, parseManifest, serializeManifest, versionAt, versionPath, type DimensionManifest } from "./dims-layout.ts";

const manifest: DimensionManifest = {
  table: "dim_customer",
  versions: [
    { version: "aaaaaaaaaaaaaaaa", path: versionPath("dim_customer", "aaaaaaaaaaaaaaaa"), rows: 2, loadedAt: "2026-11-20T09:00:00.000Z" },
    { version: "bbbbbbbbbbbbbbbb", path: versionPath("dim_customer", "bbbbbbbbbbbbbbbb"), rows: 3, loadedAt: "2026-11-20T10:00:00.000Z" },
  ],
};

describe("dimension versions", () => {
  it("lays a table out under dims/ and reads back what it writes", () => {
    expect(manifestPath("dim_product")).toBe("dims/dim_product/_versions.json");
    expect(versionPath("dim_customer", "ab12")).toBe("dims/dim_customer/ab12.parquet");
    expect(parseManifest("dim_customer", serializeManifest(manifest), "m.json")).toEqual(manifest);
  });

  it("refuses a manifest of another table, or one whose entry points outside its table", () => {
    expect(() => parseManifest("dim_product", serializeManifest(manifest), "m.json")).toThrow(DimensionManifestError);
    const bad = { ...manifest, versions: [{ ...manifest.versions[0]!, path: "../../etc/passwd" }] };
    expect(() => parseManifest("dim_customer", JSON.stringify(bad), "m.json")).toThrow(/bad version entry/);
    expect(() => parseManifest("dim_customer", "{", "m.json")).toThrow(/not JSON/);
  });

  it("finds the version current at an instant by load time; before the first load, the first", () => {
    const at = (iso: string) => versionAt(manifest, Date.parse(iso))?.version;
    expect([at("2026-11-20T08:00:00Z"), at("2026-11-20T09:30:00Z"), at("2026-11-20T10:00:00Z"), at("2026-11-21T00:00:00Z")]).toEqual([
      "aaaaaaaaaaaaaaaa",
      "aaaaaaaaaaaaaaaa",
      "bbbbbbbbbbbbbbbb",
      "bbbbbbbbbbbbbbbb",
    ]);
    expect(versionAt(undefined, 0)).toBeUndefined();
  });
});
