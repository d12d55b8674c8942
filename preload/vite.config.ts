import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

// One CommonJS file: a sandboxed preload can require only 'electron', not its own modules.
export default defineConfig({
  build: {
    outDir: fileURLToPath(new URL('../dist/preload', import.meta.url)),
    emptyOutDir: false,
    minify: false,
    lib: {
      entry: fileURLToPath(new URL('./index.ts', import.meta.url)),
      formats: ['cjs'],
      fileName: () => 'index.cjs',
    },
    rollupOptions: { external: ['electron'] },
  },
});
