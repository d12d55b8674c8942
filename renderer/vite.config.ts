import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { CSP } from '../main/core/api/security.ts';

// The same build serves the Electron window (file://, hence relative `base`) and the headless server.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [
    svelte(),
    // The page's <meta> CSP is the constant both shells send as a header (less frame-ancestors,
    // which a <meta> cannot carry).
    {
      name: 'plumage-csp',
      transformIndexHtml: (html: string) => html.replace('%PLUMAGE_CSP%', CSP.replace(/; frame-ancestors [^;]*/, '')),
    },
  ],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
});
