import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** lib/ is pure (design.md, "Code layout"): no IO modules, no environment, no clock. Time and data come in. */
const IMPURE_MODULES = [
  "node:fs",
  "node:fs/promises",
  "node:net",
  "node:http",
  "node:https",
  "node:child_process",
  "node:worker_threads",
  "fs",
  "fs/promises",
  "net",
  "http",
  "child_process",
  "worker_threads",
  "kafkajs",
  "socket.io",
  "socket.io-client",
  "pino",
  "prom-client",
];
export const libPurity = {
  files: ["lib/**/*.ts", "lib/**/*.tsx"],
  ignores: ["lib/**/*.test.ts"],
  rules: {
    "@typescript-eslint/no-restricted-imports": [
      "error",
      {
        paths: IMPURE_MODULES.map((name) => ({ name, message: "lib/ is pure: IO belongs in workers/ (design.md, Code layout)", allowTypeImports: true })),
        patterns: [
          { group: ["@duckdb/*", "@influxdata/*"], message: "lib/ is pure: IO belongs in workers/ (design.md, Code layout)", allowTypeImports: true },
        ],
      },
    ],
    "no-restricted-properties": [
      "error",
      { object: "process", property: "env", message: "lib/ reads no environment: pass configuration in" },
      { object: "Date", property: "now", message: "lib/ reads no clock: pass the time in" },
      { object: "performance", property: "now", message: "lib/ reads no clock: pass the time in" },
    ],
    "no-restricted-syntax": [
      "error",
      { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "lib/ reads no clock: new Date() needs an explicit time" },
    ],
  },
};

export default tseslint.config(
  { ignores: ["node_modules/", ".next/", ".orderpulse/", "artifacts/", "next-env.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  libPurity,
);
