/**
 * `npm run bench -- <name> [options]`: benchmarks that print JSON lines (never timed tests).
 *   ingest [--folder F] [--resolution N]   Plumage's ingest vs a naive decode-crop-resize-save loop
 */
import { benchIngest } from './ingest.js';

const [name, ...rest] = process.argv.slice(2);
const benches: Record<string, (argv: string[]) => Promise<void>> = { ingest: benchIngest };
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exitCode = 2;
} else {
  await bench(rest);
}
