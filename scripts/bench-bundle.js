// `npm run bench:bundle [-- --out FILE]`: the training benchmark as a folder that runs without
// node_modules, packed as dist-bench/plumage-bench.tgz, to copy to a GPU machine:
//   tar xzf plumage-bench.tgz && node plumage-bench/bench.js train --backend webgpu --preset 256
// What it holds: bench.js and replica-worker.js (the compiled bench and the core it imports, with
// tfjs, bundled by rolldown, which Vite already brings), the wasm backend's .wasm binaries beside
// them, and one package left outside the bundle, `webgpu` (Dawn's Node binding: a native
// dawn.node per platform), with only this platform's binary. tfjs-node(-gpu) stay out: the backend
// chain falls through to WebGPU without them, as in the app.
// Needs a built dist/ (`npm run build`).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'rolldown';

const require = createRequire(import.meta.url);
const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const OUT = resolve(values.out ?? join(ROOT, 'dist-bench', 'plumage-bench.tgz'));
const ENTRY = join(ROOT, 'dist', 'test', 'bench', 'bundle-entry.js');
if (!existsSync(ENTRY)) {
  console.error('bench:bundle needs a built dist/: run npm run build first');
  process.exit(1);
}

const stage = mkdtempSync(join(tmpdir(), 'plumage-bench-'));
const dir = join(stage, 'plumage-bench');
try {
  await build({
    input: { bench: ENTRY, 'replica-worker': join(ROOT, 'dist', 'main', 'core', 'parallel', 'replica-worker.js') },
    platform: 'node',
    // Native or optional: resolved at run time (webgpu from the node_modules shipped beside).
    external: [/^node:/, 'webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    logLevel: 'warn',
    output: {
      dir,
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: 'chunk-[hash].js',
      minify: true,
      // The wasm backend is CommonJS: it finds its .wasm files through __dirname and loads Node's
      // modules with require, neither of which an ES module has.
      banner: [
        "import { createRequire as __plumageRequire } from 'node:module';",
        "import { dirname as __plumageDirname } from 'node:path';",
        "import { fileURLToPath as __plumageFileURLToPath } from 'node:url';",
        'const require = __plumageRequire(import.meta.url);',
        'const __filename = __plumageFileURLToPath(import.meta.url);',
        'const __dirname = __plumageDirname(__filename);',
      ].join('\n'),
    },
  });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }, null, 2) + '\n');

  const wasmDist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js'));
  for (const f of readdirSync(wasmDist)) if (f.endsWith('.wasm')) cpSync(join(wasmDist, f), join(dir, f));

  const webgpu = dirname(require.resolve('webgpu/package.json'));
  const platform = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
  const target = join(dir, 'node_modules', 'webgpu');
  mkdirSync(target, { recursive: true });
  for (const f of ['package.json', 'index.js', 'LICENSE.md']) cpSync(join(webgpu, f), join(target, f));
  cpSync(join(webgpu, 'dist', platform), join(target, 'dist', platform), { recursive: true });

  mkdirSync(dirname(OUT), { recursive: true });
  execFileSync('tar', ['czf', OUT, '-C', stage, 'plumage-bench']);
  console.log(
    JSON.stringify({
      bundle: OUT,
      bytes: statSync(OUT).size,
      mib: +(statSync(OUT).size / 2 ** 20).toFixed(1),
      platform,
    }),
  );
} finally {
  rmSync(stage, { recursive: true, force: true });
}
