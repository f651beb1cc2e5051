import type { NextConfig } from "next";

const config: NextConfig = {
  // DuckDB, kafkajs and its compression codecs are server-only native/Node packages: never bundle them.
  serverExternalPackages: ["@duckdb/node-api", "kafkajs", "parquetjs-lite", "@mongodb-js/zstd", "lz4-napi", "kafkajs-snappy"],
};

export default config;
