/** Saved example queries of the Lake page: the questions people ask the lake first. */
export interface ExampleQuery {
  title: string;
  sql: string;
}

export const EXAMPLE_QUERIES: readonly ExampleQuery[] = [
  { title: "Daily KPIs", sql: "SELECT * FROM daily_kpis ORDER BY date DESC" },
  {
    title: "Top products",
    sql: "SELECT product_id, count(*) AS orders, sum(amount) AS revenue\nFROM orders\nGROUP BY product_id\nORDER BY revenue DESC\nLIMIT 20",
  },
  {
    title: "Revenue by country and hour",
    sql: "SELECT date_trunc('hour', event_time) AS hour, country, sum(amount) AS revenue\nFROM orders\nGROUP BY ALL\nORDER BY hour, revenue DESC",
  },
  { title: "Revenue by hour", sql: "SELECT date_trunc('hour', event_time) AS hour, sum(amount) AS revenue, count(*) AS orders\nFROM orders\nGROUP BY ALL\nORDER BY hour" },
  { title: "An order by id", sql: "SELECT *\nFROM orders_raw\nWHERE order_id = (SELECT min(order_id) FROM orders)" },
  {
    title: "Late orders",
    sql: "-- arrived more than 2 minutes (the watermark delay) after their event time\nSELECT order_id, event_time, ingested_at, ingested_at - event_time AS delay\nFROM orders\nWHERE ingested_at - event_time > INTERVAL 2 MINUTE\nORDER BY delay DESC",
  },
  { title: "Revenue by country", sql: "SELECT * FROM revenue_by_country" },
  {
    title: "Revenue by segment",
    sql: "-- orders joined with dim_customer (npm run dims:load); a customer it lacks is UNKNOWN\nSELECT segment, is_premium, count(*) AS orders, sum(amount) AS revenue\nFROM orders_enriched\nGROUP BY ALL\nORDER BY revenue DESC",
  },
  { title: "Dead letters by reason", sql: "SELECT reason_code, count(*) AS messages\nFROM orders_invalid\nGROUP BY reason_code\nORDER BY messages DESC" },
  { title: "Orders by country (PIVOT)", sql: "PIVOT (SELECT channel, country FROM orders) ON country USING count(*) GROUP BY channel" },
];
