/**
 * The generator file a run fine-tunes from, checked as createRun takes it and again as the
 * trainer opens it: a regular file (util/user-file), a header that parses, and an architecture
 * that is the preset's, since a fine-tune keeps the file's networks and trains them as the preset.
 */
import { ARCH_KEYS, PRESET_NAMES, presetConfig, type GanConfig } from '../gan/config.js';
import { describeGenerator } from '../gan/generator-file.js';

export class FineTuneError extends Error {
  constructor(
    message: string,
    readonly code: 'not-found' | 'invalid-input',
  ) {
    super(message);
  }
}

/** The file's absolute path when it can start a run trained as `config`; else a FineTuneError saying why. */
export async function checkFineTuneFile(path: string, config: GanConfig): Promise<string> {
  const layout = await describeGenerator(path).catch((err: { message?: string; code?: string }) => {
    throw new FineTuneError(
      `cannot fine-tune: ${err.message ?? String(err)}`,
      err.code === 'not-found' ? 'not-found' : 'invalid-input',
    );
  });
  const theirs = layout.config;
  const differs = ARCH_KEYS.filter((k) => theirs[k] !== config[k]);
  if (differs.length === 0) return layout.file;
  const fits = PRESET_NAMES.find((p) => {
    const c = presetConfig(p);
    return ARCH_KEYS.every((k) => c[k] === theirs[k]);
  });
  throw new FineTuneError(
    `${layout.file} holds a ${theirs.resolution}² generator that does not fit the ${config.preset} preset ` +
      `(${differs.map((k) => `${k} ${theirs[k]}, the preset's ${config[k]}`).join('; ')}): ` +
      (fits ? `choose the ${fits} preset` : 'no preset has its architecture, so it cannot be fine-tuned here'),
    'invalid-input',
  );
}
