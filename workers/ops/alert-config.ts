import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { AlertRulesError, resolveAlertRules, type AlertRules } from "../../lib/ops/alert-rules.ts";

/** The defaults that ship with orderpulse. */
export const DEFAULT_ALERT_RULES_FILE = resolve(import.meta.dirname, "../alert-rules.default.yaml");

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new AlertRulesError(file, [`cannot read: ${(error as Error).message}`]);
  }
  try {
    return parse(text);
  } catch (error) {
    throw new AlertRulesError(file, [`not YAML: ${(error as Error).message.split("\n")[0]}`]);
  }
}

/** The defaults with ALERT_RULES's overrides, validated. Throws AlertRulesError naming the file and each problem. */
export function loadAlertRules(overrideFile: string | undefined): AlertRules {
  const defaults = { file: DEFAULT_ALERT_RULES_FILE, data: readYaml(DEFAULT_ALERT_RULES_FILE) };
  return resolveAlertRules(defaults, overrideFile ? { file: overrideFile, data: readYaml(overrideFile) } : undefined);
}
