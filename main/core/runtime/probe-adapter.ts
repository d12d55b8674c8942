/**
 * Prints the WebGPU adapter Dawn finds as one JSON line (`{"adapter": …}` or `{"error": …}`).
 * Run as a child process by the app (capacity.ts): Dawn never loads into the app's own process.
 */
import { probeAdapter } from './webgpu.js';

try {
  console.log(JSON.stringify({ adapter: await probeAdapter() }));
} catch (err) {
  console.log(JSON.stringify({ error: (err as Error).message }));
}
