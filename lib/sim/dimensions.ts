/**
 * The dimension tables of the simulator's own world: every customer of its
 * pool (c-1 … c-CUSTOMERS) and every product of its CATALOG, as dim_customer
 * and dim_product rows (lib/contract/dims.ts column order). Fixed, not seeded,
 * like the catalog: a demo's segments are the same every run.
 */
import { DIM_CUSTOMER_TABLE, DIM_PRODUCT_TABLE, type DimensionTable } from "../contract/dims.ts";
import { Prng } from "./prng.ts";
import { CATALOG, COUNTRIES, CUSTOMERS } from "./order-generator.ts";

/** Segments and their share of customers. */
export const SEGMENTS = [["consumer", 70], ["small_business", 18], ["enterprise", 7], ["student", 5]] as const;
const PREMIUM_SHARE = { consumer: 0.15, small_business: 0.3, enterprise: 0.6, student: 0.05 } as const;
const SIGNUP_FROM = Date.UTC(2019, 0, 1);
const SIGNUP_DAYS = 2_500;

/** dim_customer rows: customer_id, segment, is_premium, signup_date, home_country. */
export function simCustomerRows(): string[][] {
  const prng = new Prng(0xc0575e6);
  const rows: string[][] = [];
  for (let i = 1; i <= CUSTOMERS; i++) {
    const segment = prng.weighted(SEGMENTS);
    const premium = prng.next() < PREMIUM_SHARE[segment];
    const signup = new Date(SIGNUP_FROM + prng.int(0, SIGNUP_DAYS) * 86_400_000).toISOString().slice(0, 10);
    rows.push([`c-${i}`, segment, String(premium), signup, prng.weighted(COUNTRIES)]);
  }
  return rows;
}

/** dim_product rows: product_id, name, category, list_price. */
export function simProductRows(): string[][] {
  return CATALOG.map((p, i) => [p.id, `${p.category[0]!.toUpperCase()}${p.category.slice(1)} item ${i + 1}`, p.category, p.unitPrice.toFixed(2)]);
}

/** Each table with its header and rows, ready to write as CSV. */
export function simDimensionTables(): { table: DimensionTable; header: string[]; rows: string[][] }[] {
  return [
    { table: DIM_CUSTOMER_TABLE, header: DIM_CUSTOMER_TABLE.columns.map((c) => c.name), rows: simCustomerRows() },
    { table: DIM_PRODUCT_TABLE, header: DIM_PRODUCT_TABLE.columns.map((c) => c.name), rows: simProductRows() },
  ];
}
