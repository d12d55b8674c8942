import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { presetConfig } from '../../main/core/gan/config.js';
import { mkfifo, randomGenerator, releasePipes } from '../helpers/hostile-files.js';
import { waitFor } from '../helpers/paths.js';
import { trainingStudio } from '../helpers/runs.js';

// The file a run fine-tunes from is checked when the run is created (fuzz.test.ts feeds that
// every hostile file) and again when the trainer opens it, since it may change in between: a
// pipe there once hung the trainer for ever while the run said "running".

test(
  'a fine-tune whose file became a pipe or another network pauses, saying so; put back, it trains',
  { timeout: 600_000 },
  async () => {
    const t = await trainingStudio('fine-tune');
    const file = join(t.dir, 'start.safetensors');
    const kept = `${file}.kept`;
    try {
      await randomGenerator(file, presetConfig('tiny'), 5);
      const step = 0.008; // one batch of the tiny preset
      const run = await t.studio.createRun({
        datasetId: t.datasetId,
        preset: 'tiny',
        targetKimg: step,
        snapshotKimg: step,
        checkpointKimg: step,
        initFrom: file,
        seed: 1,
      });
      const ended = async (): Promise<{ state: string; error: string | null }> => {
        const r = await waitFor(() => {
          const s = t.studio.training.getRun(run.id);
          return s.state !== 'running' && s.state !== 'created' ? s : null;
        }, 180_000);
        return { state: r.state, error: r.error };
      };
      renameSync(file, kept);
      mkfifo(file);
      t.studio.training.startRun(run.id);
      const piped = await ended();
      releasePipes([file]);
      assert.equal(piped.state, 'paused', JSON.stringify(piped));
      assert.match(
        piped.error!,
        /start\.safetensors is a named pipe, not a generator file\. Put the generator file back/,
      );
      rmSync(file);
      await randomGenerator(file, { ...presetConfig('tiny'), imgChannels: 1 }, 5); // a greyscale network
      t.studio.training.startRun(run.id);
      const other = await ended();
      assert.equal(other.state, 'paused', JSON.stringify(other));
      assert.match(other.error!, /holds a 32² generator that cannot train as this tiny run: it draws 1 colour channel/);
      rmSync(file);
      renameSync(kept, file);
      t.studio.training.startRun(run.id);
      const trained = await ended();
      assert.equal(trained.state, 'done', JSON.stringify(trained));
    } finally {
      releasePipes([file]);
      await t.close();
    }
  },
);
