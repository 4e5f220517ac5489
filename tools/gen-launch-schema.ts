// Writes vm-core/config/launch-schema.json from the option specs (package.json's
// configurationAttributes are generated from that file). Run: node --import tsx tools/gen-launch-schema.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchJsonSchema } from '../vm-core/config/launch-options';

export function schemaText(): string {
  return JSON.stringify(launchJsonSchema(), null, 2) + '\n';
}
if (require.main === module) {
  const out = join(__dirname, '..', 'vm-core', 'config', 'launch-schema.json');
  writeFileSync(out, schemaText());
  console.log('wrote', out);
}
