/**
 * The generator file a run starts from (`initFrom`), checked as createRun takes it and again as
 * the trainer opens it: a regular file (util/user-file), an index that parses (safetensors or a
 * network pickle), and an architecture that can train at the run's resolution. A file of the
 * preset's own architecture is fine-tuned whole; another (a pickle's wider channels, another
 * resolution) is transferred as netfile/transfer.ts does it: its architecture kept, the run's
 * resolution, the blocks that match copied and the rest started fresh.
 */
import { whyBadArchitecture, type GanConfig } from '../gan/config.js';
import { describeGenerator } from '../netfile/generator-file.js';
import { transferReport } from '../netfile/transfer.js';
import type { TransferInfo } from '../../common/records.js';

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
  const refuse = (why: string): never => {
    throw new FineTuneError(
      `${layout.file} holds a ${theirs.resolution}² generator that cannot train as this ${config.preset} run: ${why}`,
      'invalid-input',
    );
  };
  if (theirs.imgChannels !== config.imgChannels)
    refuse(`it draws ${theirs.imgChannels} colour channel(s), the run's images have ${config.imgChannels}`);
  // The transferred network is the file's architecture at the run's resolution: it must be one Plumage builds.
  const why = whyBadArchitecture({ ...theirs, resolution: config.resolution });
  if (why) refuse(`at ${config.resolution}² ${why.replace(/^its /, 'its ')}`);
  return layout.file;
}

/** What a run trained as `config` will keep of `file` (checked by checkFineTuneFile first): the trainer's own plan. */
export async function planTransfer(file: string, config: GanConfig): Promise<TransferInfo> {
  return transferReport(file, { resolution: config.resolution }).catch((err: Error) => {
    throw new FineTuneError(`cannot fine-tune: ${err.message}`, 'invalid-input');
  });
}
