/**
 * An export process: draws, upscales, composes and writes one job's prints or contact sheet,
 * away from the studio's event loop (one ESRGAN tile holds its thread for up to a second on
 * wasm). It reports its job's progress to the studio as it goes, stops at the next step or tile
 * when told to cancel, and ends when the studio disconnects.
 */
import { initBackend, isBackendName } from '../runtime/backend.js';
import { serve } from '../util/child-rpc.js';
import { tolerateClosedStderr } from '../util/child-stderr.js';
import { debug } from '../util/debug.js';
import { parentTransport } from '../util/transport.js';
import { GeneratorCache, drawnSources } from './birds.js';
import { ExportJob } from './job.js';
import type { ExportProtocol } from './worker-protocol.js';

let started = false;
/**
 * The backend its parent asked for (the CLI's `--backend`), else the best one present. Found
 * among the arguments, not at an index: a utility process's argv is laid out as Electron's.
 */
const asked = process.argv.slice(1).find(isBackendName);
tolerateClosedStderr();

const transport = parentTransport();
serve<ExportProtocol>(transport, {
  run: async (m, { signal, emit }) => {
    if (started) throw new Error('an export process runs one job');
    started = true;
    const own = new ExportJob(m.jobId, m.kind, m.total, (progress) => emit('progress', progress));
    signal.addEventListener('abort', () => own.cancel(), { once: true });
    const generators = new GeneratorCache();
    try {
      // The birds and the ESRGAN upscaler both run on this one backend (upscale.ts and birds.ts
      // ask initBackend, which keeps the first choice of the process).
      const info = await initBackend(asked, () => {});
      debug(`the export process draws and upscales on ${info.kind}: ${info.description}`);
      const { work } = m;
      if (work.kind === 'prints') {
        const { runPrints } = await import('./prints.js');
        const prints = drawnSources(
          work.plan.prints.map((p) => p.source),
          generators,
        ).map((source, i) => ({ ...work.plan.prints[i]!, source }));
        await runPrints({ ...work.plan, prints }, work.options, work.overwrite, own);
      } else {
        const { exportContactSheet } = await import('./contact-sheet.js');
        await exportContactSheet(drawnSources(work.sources, generators), work.options, work.path, work.overwrite, own);
      }
      return { progress: own.progress, error: null };
    } catch (err) {
      return { progress: own.progress, error: err instanceof Error ? err.message : String(err) };
    } finally {
      generators.dispose();
    }
  },
});
transport.onClose(() => process.exit(0));
