// Generates src/protocol.generated.ts from the server's JSON Schema (docs/protocol.schema.json).
// Usage: node scripts/gen-protocol.mjs SCHEMA.json [OUT.ts]   (no OUT: print to stdout)
// The schema comes from `python scripts/gen_protocol.py`; a test fails when either file drifts.
import { readFileSync, writeFileSync } from 'node:fs';
import { compile } from 'json-schema-to-typescript';

const [schemaPath, outPath] = process.argv.slice(2);
if (!schemaPath) {
  console.error('usage: gen-protocol.mjs SCHEMA.json [OUT.ts]');
  process.exit(2);
}
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
const banner = [
  '/**',
  ' * Generated from docs/protocol.schema.json by scripts/gen-protocol.mjs: do not edit.',
  ' * Regenerate with `python scripts/gen_protocol.py` after changing claw_lsp/server/protocol.py.',
  ' */',
].join('\n');
const ts = await compile(schema, 'ClawProtocol', {
  bannerComment: banner,
  unreachableDefinitions: true,
  additionalProperties: false,
  format: true,
  style: { singleQuote: true, printWidth: 110 },
});
if (outPath) writeFileSync(outPath, ts);
else process.stdout.write(ts);
