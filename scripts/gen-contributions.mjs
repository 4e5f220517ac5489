#!/usr/bin/env node
// Generates package.json's contributes.debuggers[kvm-guest].configurationAttributes.launch from
// vm-core/config/launch-schema.json, the one option schema shared by the CLI, --config files and
// the DAP launch request (generated from vm-core/config/launch-options.ts). Without that file the
// list already in package.json is kept as it is.
//
//   node scripts/gen-contributions.mjs          rewrite package.json if it differs
//   node scripts/gen-contributions.mjs --check  exit 1 (and say what differs) if it differs
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_PATH = 'vm-core/config/launch-schema.json';
export const DEBUG_TYPE = 'kvm-guest';

/** Keys of a JSON-schema property that VS Code's launch.json editing understands. */
const KEPT_KEYS = [
  'type', 'description', 'markdownDescription', 'enum', 'enumDescriptions', 'markdownEnumDescriptions',
  'default', 'items', 'minimum', 'maximum', 'pattern', 'patternErrorMessage', 'uniqueItems',
  'minItems', 'maxItems', 'properties', 'additionalProperties', 'examples', 'deprecationMessage', 'format',
];

/** A property as package.json should carry it: known keys only, in a stable order, recursively for items/properties. */
export function cleanProperty(p) {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return p;
  const out = {};
  for (const k of KEPT_KEYS) {
    if (!(k in p)) continue;
    if (k === 'items') out.items = cleanProperty(p.items);
    else if (k === 'properties') out.properties = Object.fromEntries(Object.entries(p.properties).map(([n, v]) => [n, cleanProperty(v)]));
    else out[k] = p[k];
  }
  return out;
}

function readJson(root, rel) {
  const file = join(root, rel);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${rel}: ${e.message}`);
  }
}

/** configurationAttributes.launch as the schema says, or null when there is no schema. */
export function buildLaunchAttributes(root = ROOT) {
  if (!existsSync(join(root, SCHEMA_PATH))) return null;
  const schema = readJson(root, SCHEMA_PATH);
  const props = schema.properties;
  if (props === null || typeof props !== 'object' || Array.isArray(props)) throw new Error(`${SCHEMA_PATH}: "properties" must be an object`);
  const properties = {};
  for (const [name, p] of Object.entries(props)) properties[name] = cleanProperty(p);
  const required = Array.isArray(schema.required) ? [...schema.required] : [];
  return { required, properties };
}

export function findDebugger(pkg) {
  const d = pkg.contributes?.debuggers?.find((x) => x.type === DEBUG_TYPE);
  if (!d) throw new Error(`package.json: contributes.debuggers has no entry of type "${DEBUG_TYPE}"`);
  return d;
}

function main() {
  const check = process.argv.includes('--check');
  const pkgFile = join(ROOT, 'package.json');
  const text = readFileSync(pkgFile, 'utf8');
  const pkg = JSON.parse(text);
  const launch = buildLaunchAttributes(ROOT);
  const source = SCHEMA_PATH;
  const dbg = findDebugger(pkg);
  if (!launch) {
    console.log(`${SCHEMA_PATH} does not exist: package.json keeps its hand-written configurationAttributes.launch`);
    return;
  }
  const current = dbg.configurationAttributes?.launch;
  if (isDeepStrictEqual(current, launch)) {
    console.log(`package.json: configurationAttributes.launch is up to date with ${source} (${Object.keys(launch.properties).length} options)`);
    return;
  }
  if (check) {
    const have = new Set(Object.keys(current?.properties ?? {}));
    const want = new Set(Object.keys(launch.properties));
    const missing = [...want].filter((k) => !have.has(k));
    const extra = [...have].filter((k) => !want.has(k));
    const changed = [...want].filter((k) => have.has(k) && !isDeepStrictEqual(current.properties[k], launch.properties[k]));
    console.error(`package.json: configurationAttributes.launch differs from ${source}` +
      (missing.length ? `; missing: ${missing.join(', ')}` : '') +
      (extra.length ? `; not in the source: ${extra.join(', ')}` : '') +
      (changed.length ? `; changed: ${changed.join(', ')}` : '') +
      '. Run: node scripts/gen-contributions.mjs');
    process.exit(1);
  }
  dbg.configurationAttributes = { ...(dbg.configurationAttributes ?? {}), launch };
  writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + '\n');
  console.log(`package.json: wrote configurationAttributes.launch from ${source} (${Object.keys(launch.properties).length} options)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
