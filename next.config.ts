import type { NextConfig } from "next";

const config: NextConfig = {
  // DuckDB and kafkajs are server-only native/Node packages: never bundle them.
  serverExternalPackages: ["@duckdb/node-api", "kafkajs", "parquetjs-lite"],
};

export default config;
