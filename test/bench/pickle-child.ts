/**
 * One measurement of `bench pickle`, in a process of its own: `read-twice FILE` (the yardstick),
 * `open FILE` (parse and check), `open-and-read FILE` (and every tensor read as float32, one at a
 * time, as loading a network does). Prints {ms, peakRssMB, baselineRssMB}.
 */
import { readFile } from 'node:fs/promises';
import { readNetworkPickle } from '../../main/core/netfile/pickle/index.js';

const [mode, file] = process.argv.slice(2) as [string, string];
const baselineRssMB = process.memoryUsage().rss / 2 ** 20;
const t0 = performance.now();
if (mode === 'read-twice') {
  for (let i = 0; i < 2; i++) await readFile(file);
} else {
  const p = await readNetworkPickle(file);
  if (mode === 'open-and-read') {
    let sum = 0;
    for (const name of p.names) sum += p.read(name).length;
    if (sum === 0) throw new Error('no tensors');
  }
}
const ms = performance.now() - t0;
// maxRSS is in kilobytes
console.log(JSON.stringify({ ms, peakRssMB: process.resourceUsage().maxRSS / 1024, baselineRssMB }));
