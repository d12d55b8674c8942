import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The renderer's state classes (`*.svelte.ts`) are tested in Node: each test file
// (`*.test.svelte.ts`, itself a rune module for $effect.root) is bundled with Svelte's client
// runtime, the one the page runs (the 'browser' condition; Node would get the server build,
// where state is not reactive), into dist/test/svelte/NAME.test.js for `node --test`.
// node:test and node:assert stay Node's own.
const here = fileURLToPath(new URL('.', import.meta.url));
const entries = Object.fromEntries(
  readdirSync(here)
    .filter((n) => n.endsWith('.test.svelte.ts'))
    .map((n) => [n.replace(/\.svelte\.ts$/, ''), `${here}${n}`]),
);

export default defineConfig({
  root: here,
  plugins: [svelte()],
  resolve: { conditions: ['browser', 'import', 'module', 'default'] },
  logLevel: 'warn',
  build: {
    target: 'node20',
    minify: false,
    emptyOutDir: true,
    outDir: fileURLToPath(new URL('../../dist/test/svelte', import.meta.url)),
    lib: { entry: entries, formats: ['es'], fileName: (_format, name) => `${name}.js` },
    rollupOptions: { external: [/^node:/], output: { chunkFileNames: 'chunks/[name]-[hash].js' } },
  },
});
