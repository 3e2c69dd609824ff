// `npm run bench [name ...]`: runs every bench/*.bench.ts (or only those named, e.g. `npm run bench judge`) one
// after another with tsx, each in its own Node process so timings don't disturb each other. Benches print tables.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const benchDir = join(root, 'bench');
const all = existsSync(benchDir) ? readdirSync(benchDir).filter((f) => f.endsWith('.bench.ts')).sort() : [];
const wanted = process.argv.slice(2);
const chosen = wanted.length ? wanted.map((w) => (w.endsWith('.bench.ts') ? w : `${w}.bench.ts`)) : all;
const unknown = chosen.filter((c) => !all.includes(c));
if (unknown.length) {
  console.error(`bench: no such bench ${unknown.join(', ')}. Available: ${all.map((f) => f.replace('.bench.ts', '')).join(', ') || 'none'}.`);
  process.exit(2);
}
let failed = 0;
for (const file of chosen) {
  console.log(`\n=== ${file} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(benchDir, file)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench ${file} failed (exit ${r.status ?? r.signal}).`);
  }
}
process.exit(failed ? 1 : 0);
