/**
 * The entry of the GPU bench bundle (`npm run bench -- bundle`): only the training benchmark,
 * which needs tfjs and no native module but Dawn's, so the bundle runs without node_modules.
 *   node bench.js train [--backend webgpu] [--preset 256] [--repeats N] [--batch B]
 */
import { benchTrain } from './train.js';

const [name, ...rest] = process.argv.slice(2);
if (name !== 'train') {
  console.error('usage: node bench.js train [--backend cuda|webgpu|cpu-native|wasm|cpu] [--preset P] [--repeats N]');
  process.exitCode = 2;
} else {
  await benchTrain(rest);
}
