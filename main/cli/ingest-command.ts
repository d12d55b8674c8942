/** `plumage ingest`: one pass over a folder into a dataset, then exit. */
import { OPEN_DATASET_FIELDS } from '../core/api/validate.js';
import { folderProblem } from '../core/folders.js';
import { resolveHome } from '../core/home.js';
import { DEFAULT_RESOURCES_DIR } from '../core/version.js';
import { choiceFlag, numberFlag, required, type CommandDef } from './usage.js';
import { endProgress, progress, quoted, say, sayJson } from './terminal.js';

export const ingestCommand: CommandDef = {
  name: 'ingest',
  synopsis: 'ingest <folder> --resolution 64|128|256|512|1024 [--crop centre|subject|pad] [--home DIR] [--json]',
  summary: 'Turns every picture in the folder into a training square (one pass, then exits).',
  details: `  --resolution N   the side of the training squares
  --crop MODE      centre (default), subject (follows the bird) or pad (the whole picture)
  --home DIR       where Plumage keeps its data (else $PLUMAGE_HOME, else the app-data folder)
  --json           print exactly one JSON object: dataset, resolution, crop, accepted, rejected,
                   duplicates, seconds
Exit code 0 when the pass ran, 1 for a missing folder or an unwritable home, 2 for a usage error.`,
  options: {
    resolution: { type: 'string' },
    crop: { type: 'string' },
    home: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  positionals: { min: 1, max: 1, name: '<folder>' },
  async run(values, [folder]) {
    const resolution = required(
      numberFlag(values, 'resolution', OPEN_DATASET_FIELDS.resolution),
      'resolution',
      '64|128|256|512|1024',
    );
    const crop = choiceFlag(values, 'crop', OPEN_DATASET_FIELDS.crop) ?? 'centre';
    const problem = await folderProblem(folder!);
    if (problem) throw new Error(problem);
    // The studio (and with it tfjs, sharp, SQLite) loads only now: usage errors and --help answer at once.
    const { Studio } = await import('../core/studio.js');
    const studio = Studio.open({
      home: resolveHome(values.home as string | undefined),
      resourcesDir: DEFAULT_RESOURCES_DIR,
      shell: 'server',
      watch: false,
    });
    try {
      if (!values.json) {
        studio.on('ingestProgress', (p) => {
          if (p.total > 0 && process.stderr.isTTY)
            progress(`${p.done}/${p.total} files, ${p.rate.toFixed(1)}/s, ETA ${p.etaSeconds ?? '?'} s`);
        });
      }
      const report = await studio.ingestOnce(folder!, resolution, crop);
      if (values.json) {
        sayJson(report);
      } else {
        endProgress();
        say(
          `${report.dataset} at ${resolution}² (${crop}): ${report.accepted.length} accepted, ` +
            `${report.rejected.length} rejected, ${report.duplicates.length} duplicates in ${report.seconds} s`,
        );
        for (const r of report.rejected) say(`  rejected  ${quoted(r.file)}: ${quoted(r.reason)}`);
        for (const d of report.duplicates) say(`  duplicate ${quoted(d.file)} (same as ${quoted(d.of)})`);
      }
      return 0;
    } finally {
      await studio.close();
    }
  },
};
