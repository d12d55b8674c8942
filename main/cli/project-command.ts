/**
 * `plumage project`: an image (a plate, a photo) into a generator, with the same request as the
 * app's Projection panel; progress on stderr, Ctrl-C stops it and nothing is written.
 */
import { resolve } from 'node:path';
import { ANIMATION_FORMATS } from '../common/vocabulary.js';
import { INSIGHT_FIELDS } from '../core/api/validate-insight.js';
import { GALLERY_FIELDS } from '../core/api/validate-gallery.js';
import { resolveHome } from '../core/home.js';
import { DEFAULT_RESOURCES_DIR } from '../core/version.js';
import { DEFAULT_VIDEO_FPS, PROJECT_REPORT_EVERY } from '../core/insight/project-video.js';
import { insideFilteredChild, rerunFiltered } from './dawn-child.js';
import { backendFlag, generatorFlag, openReadOnly } from './insight-commands.js';
import { choiceFlag, numberFlag, required, UsageError, type CommandDef } from './usage.js';
import { z } from 'zod';

const F = INSIGHT_FIELDS;
const G = GALLERY_FIELDS;
const VIDEO_FORMAT = z.enum(ANIMATION_FORMATS, { error: `must be ${ANIMATION_FORMATS.join(', ')}` });

export const projectCommand: CommandDef = {
  name: 'project',
  synopsis:
    'project --checkpoint FILE --image FILE [--steps 500] [--w-plus] [--out DIR] [--name N] ' +
    '[--video webp|gif|mp4|png [--video-every K] [--fps F]] [--favourite NAME] [--backend B] [--home DIR] [--json]',
  summary: 'Finds the w whose bird looks most like an image (a plate, a photo), and writes it with its latent.',
  details: [
    "  The image is made into a centre square of the generator's side, then w is optimised from w_avg",
    '  (Adam, decaying noise on w, regularised noise maps) on a feature-network distance plus a pixel term.',
    "  Writes <name>-projected.png and <name>-latent.json in --out (default the home's exports/) only once",
    '  it has finished; Ctrl-C stops it and writes nothing.',
    '  --video F        also write the optimisation as <name>-projection.webp|gif|mp4 or numbered PNGs:',
    `                   the reconstruction every --video-every steps (default ${PROJECT_REPORT_EVERY}) at --fps`,
    `                   (default ${DEFAULT_VIDEO_FPS}; a whole number for mp4); written with the image and latent,`,
    '                   all or nothing',
    '  --favourite NAME  keep the result as a favourite of that name (its latent copied into the home)',
    '  --json   {distance, psnr, steps, image, latent, video, favourite}; psnr against the target square (dB)',
  ].join('\n'),
  options: {
    checkpoint: { type: 'string' },
    run: { type: 'string' },
    image: { type: 'string' },
    steps: { type: 'string' },
    'w-plus': { type: 'boolean', default: false },
    out: { type: 'string' },
    name: { type: 'string' },
    video: { type: 'string' },
    'video-every': { type: 'string' },
    fps: { type: 'string' },
    favourite: { type: 'string' },
    backend: { type: 'string' },
    home: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  async run(v) {
    const generator = await generatorFlag(v);
    const image = resolve(required(v.image as string | undefined, 'image', 'FILE'));
    const steps = numberFlag(v, 'steps', F.steps);
    const name = choiceFlag(v, 'name', F.name);
    const format = choiceFlag(v, 'video', VIDEO_FORMAT);
    const every = numberFlag(v, 'video-every', F.steps);
    const fps = numberFlag(v, 'fps', G.fps);
    if (format === undefined && (every !== undefined || fps !== undefined))
      throw new UsageError('--video-every and --fps are for a video: give --video webp, gif, mp4 or png');
    // Checked now, before minutes of work: a bad name must not leave files without their favourite.
    const favourite = choiceFlag(v, 'favourite', G.name);
    // Flags are checked above, in this process; the drawing happens in a child whose stderr is filtered.
    if (!insideFilteredChild()) return rerunFiltered('project');
    // Read-only (beside a running train) unless a favourite is to be kept.
    // tfjs and the studio load now, not when the CLI starts (its usage answers at once).
    const { Studio } = await import('../core/studio.js');
    const { initBackend } = await import('../core/runtime/backend.js');
    const studio =
      favourite === undefined
        ? await openReadOnly(v.home as string | undefined)
        : Studio.open({
            home: resolveHome(v.home as string | undefined),
            resourcesDir: DEFAULT_RESOURCES_DIR,
            shell: 'server',
            watch: false,
            galleryInProcess: true,
          });
    let jobId = 0;
    const stop = () => {
      if (jobId) void studio.cancelProjection({ jobId }).catch(() => {});
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await initBackend(backendFlag(v), () => {});
      const r = await studio.projectImage(
        {
          generator,
          image,
          ...(steps !== undefined ? { steps } : {}),
          wPlus: v['w-plus'] === true,
          ...(v.out !== undefined ? { outDir: resolve(v.out as string) } : {}),
          ...(name !== undefined ? { name } : {}),
          ...(format !== undefined
            ? { video: { format, ...(every !== undefined ? { every } : {}), ...(fps !== undefined ? { fps } : {}) } }
            : {}),
        },
        (e) => {
          jobId = e.jobId;
          if (!v.json && e.step > 0)
            process.stderr.write(
              `\rstep ${e.step}/${e.steps}  distance ${e.distance.toFixed(4)}  PSNR ${e.psnr.toFixed(2)} dB` +
                `${e.etaSeconds !== null ? `  ${e.etaSeconds} s left` : ''}   `,
            );
        },
      );
      // Kept only once the files are written: a cancelled projection keeps neither.
      const fav =
        favourite === undefined ? null : await studio.addFavourite({ generator, latent: r.latent, name: favourite });
      // The previews are for the app's panel; a script has the files.
      const { preview: _p, targetPreview: _t, ...shown } = r;
      if (v.json) console.log(JSON.stringify({ ...shown, favourite: fav ? { id: fav.id, name: fav.name } : null }));
      else
        console.log(
          `\nwrote ${r.image} and ${r.latent} (distance ${r.distance.toFixed(4)}, PSNR ${r.psnr.toFixed(2)} dB)` +
            (r.video.length === 0
              ? ''
              : r.video.length === 1
                ? `\nand the video ${r.video[0]}`
                : `\nand the video as ${r.video.length} frames from ${r.video[0]}`) +
            (fav ? `\nkept as favourite #${fav.id} ${JSON.stringify(fav.name)}` : ''),
        );
      return 0;
    } catch (err) {
      if ((err as Error).message === 'cancelled') {
        console.error('plumage project: stopped; nothing was written');
        return 130;
      }
      throw err;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await studio.close();
    }
  },
};
