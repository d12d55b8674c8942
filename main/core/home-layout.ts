/**
 * The home's layout: every path Plumage keeps inside a home is named here, and nowhere else.
 *
 *   plumage.db (-wal, -shm)                the database
 *   plumage.lock                           the owning process's lock (home-lock.ts)
 *   server-token                           `serve`'s token
 *   server-port                            the port `serve` last listened on (tried first with --port 0)
 *   cache/dataset-N-R.u8                   dataset N's training images, packed at R²
 *   thumbs/N/…                             dataset N's thumbnails and previews (media)
 *   checkpoints/run-N/ckpt-STEP.safetensors
 *   checkpoints/run-N/gema-STEP-T.safetensors  run N's G_ema alone, written with each grid (T: when, base 36)
 *   samples/run-N/grid-STEP.png            run N's snapshot grids (media)
 *   gallery/…                              drawn birds and strips (media), cleared each session
 *   exports/                               where an export goes when no folder was asked for; the only
 *                                          folder `serve` lets a page download from (exportKey)
 *   features/dataset-N-S.f32               dataset N's image features at side S (part 8: KID, nearest plates)
 *   directions/KEY.json                    a generator's SeFa/GANSpace directions, computed once (a cache)
 *   latents/HASH.json                      favourites' latents (projected plates), named by their content
 *   edits/HASH.json                        favourites' edit vectors (one direction), named by their content
 *
 * The database keeps a path inside the home relative to it (forward slashes) and a path outside
 * absolute, so a home can be copied, moved or restored and still find its own files (toStored,
 * fromStored). Plumage deletes, and its trainer writes, only inside the home: removeInHome and
 * assertWritableInHome refuse a path that leads out of it through `..` or a link.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export const DB_FILE = 'plumage.db';
export const LOCK_FILE = 'plumage.lock';
export const TOKEN_FILE = 'server-token';
export const PORT_FILE = 'server-port';
/** Folder of drawn birds and strips (their media keys start with it). */
export const GALLERY_DIR = 'gallery';
const CACHE_DIR = 'cache';
const THUMBS_DIR = 'thumbs';
const CHECKPOINTS_DIR = 'checkpoints';
const SAMPLES_DIR = 'samples';
const EXPORTS_DIR = 'exports';
const FEATURES_DIR = 'features';
const DIRECTIONS_DIR = 'directions';
/** Favourites' latents (stored relative to the home as `latents/<hash>.json`; migration 11 checks the form). */
const LATENTS_DIR = 'latents';
/**
 * Favourites' edit vectors (stored relative as `edits/<hash>.json`; migration 12 checks the form):
 * the one direction a kept edit moves along, so it redraws without recomputing any directions.
 */
const EDITS_DIR = 'edits';

const stepName = (step: number): string => String(step).padStart(8, '0');

export const databaseFile = (home: string): string => join(home, DB_FILE);
export const lockFile = (home: string): string => join(home, LOCK_FILE);
export const tokenFile = (home: string): string => join(home, TOKEN_FILE);
export const portFile = (home: string): string => join(home, PORT_FILE);
export const galleryDir = (home: string): string => join(home, GALLERY_DIR);
export const exportsDir = (home: string): string => join(home, EXPORTS_DIR);
export const featuresDir = (home: string): string => join(home, FEATURES_DIR);
/** Dataset `datasetId`'s feature cache at `side`² (named from the home, so a moved home keeps it). */
export const featureCacheFile = (home: string, datasetId: number, side: number): string =>
  join(home, FEATURES_DIR, `dataset-${datasetId}-${side}.f32`);
export const directionsFile = (home: string, key: string): string => join(home, DIRECTIONS_DIR, `${key}.json`);
export const latentFile = (home: string, hash: string): string => join(home, LATENTS_DIR, `${hash}.json`);
export const editVectorFile = (home: string, hash: string): string => join(home, EDITS_DIR, `${hash}.json`);

/** Dataset `id`'s training images, packed at its resolution. */
export const datasetCacheFile = (home: string, ds: { id: number; resolution: number }): string =>
  join(home, CACHE_DIR, `dataset-${ds.id}-${ds.resolution}.u8`);
/** Media key of dataset `datasetId`'s thumbnail folder; `thumbsDir` is the folder itself. */
export const thumbsKey = (datasetId: number): string => `${THUMBS_DIR}/${datasetId}`;
export const thumbsDir = (home: string, datasetId: number): string => join(home, THUMBS_DIR, String(datasetId));

export const checkpointDir = (home: string, runId: number): string => join(home, CHECKPOINTS_DIR, `run-${runId}`);
export const checkpointName = (step: number): string => `ckpt-${stepName(step)}.safetensors`;
/**
 * A generator-only snapshot of run N's G_ema, written with each grid so the Gallery can draw the
 * run as it trains. `at` (ms) makes each name new: a resumed run reaches the same steps again, and
 * a favourite drawn from the earlier file must keep its own weights.
 */
export const liveGeneratorName = (step: number, at: number): string =>
  `gema-${stepName(step)}-${at.toString(36)}.safetensors`;
/** Run `runId`'s G_ema files on disk, with the step and the time (ms) their names carry. */
export function liveGeneratorFiles(home: string, runId: number): { path: string; step: number; at: number }[] {
  const dir = checkpointDir(home, runId);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const m = /^gema-(\d+)-([0-9a-z]+)\.safetensors$/.exec(n);
    return m ? [{ path: join(dir, n), step: Number(m[1]), at: parseInt(m[2]!, 36) }] : [];
  });
}

/** Media key of run `runId`'s grid folder; `samplesDir` is the folder itself. */
export const samplesKey = (runId: number): string => `${SAMPLES_DIR}/run-${runId}`;
export const samplesDir = (home: string, runId: number): string => join(home, SAMPLES_DIR, `run-${runId}`);
export const gridName = (step: number): string => `grid-${stepName(step)}.png`;

/** Ids of the `NAME-N` entries in a folder of the home (`checkpoints/run-3` → 3); none if it is missing. */
function idsIn(folder: string, pattern: RegExp): number[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const m = pattern.exec(n);
    return m ? [Number(m[1])] : [];
  });
}

/** Run ids that still have files in the home (`checkpoints/run-N`, `samples/run-N`): never handed out again. */
export function runIdsOnDisk(home: string): number[] {
  const ids = [...idsIn(join(home, CHECKPOINTS_DIR), /^run-(\d+)$/), ...idsIn(join(home, SAMPLES_DIR), /^run-(\d+)$/)];
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** Dataset ids that still have files in the home (`cache/dataset-N-R.u8`, `thumbs/N`). */
export function datasetIdsOnDisk(home: string): number[] {
  const ids = [...idsIn(join(home, CACHE_DIR), /^dataset-(\d+)-\d+\.u8$/), ...idsIn(join(home, THUMBS_DIR), /^(\d+)$/)];
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** `relative`'s answer names a place under the root (not the root itself, not above it). */
const under = (rel: string): boolean => rel !== '' && !isAbsolute(rel) && rel.split(sep)[0] !== '..';

function realOrNull(path: string): string | null {
  try {
    return realpathSync.native(path);
  } catch {
    return null;
  }
}

/**
 * How the database keeps `path`: relative to the home (forward slashes) when it lies inside it,
 * spelled through the home's own path or its real one; absolute otherwise.
 */
export function toStored(home: string, path: string): string {
  const abs = resolve(path);
  let rel = relative(resolve(home), abs);
  if (!under(rel)) {
    const [realHome, realPath] = [realOrNull(home), realOrNull(abs)];
    rel = realHome && realPath ? relative(realHome, realPath) : '';
  }
  return under(rel) ? rel.split(sep).join('/') : abs;
}

/** The absolute path of a stored one: a relative one lies in this home, wherever it is now. */
export const fromStored = (home: string, stored: string): string =>
  isAbsolute(stored) ? stored : join(resolve(home), ...stored.split('/'));

/**
 * The download key of a file an export wrote: its path under the home's `exports/` with forward
 * slashes (`plate-001-avis.pdf`, `walk/walk-0001.png`), spelled through the home's path or its real
 * one; null when it lies anywhere else (a folder the user chose outside the home).
 */
export function exportKey(home: string, path: string): string | null {
  const root = exportsDir(resolve(home));
  const abs = resolve(path);
  let rel = relative(root, abs);
  if (!under(rel)) {
    const [realRoot, realPath] = [realOrNull(root), realOrNull(abs)];
    rel = realRoot && realPath ? relative(realRoot, realPath) : '';
  }
  return under(rel) ? rel.split(sep).join('/') : null;
}

/** The download keys of those of `paths` that lie in the home's `exports/`, by path. */
export function exportKeys(home: string, paths: string[]): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const path of paths) {
    const key = exportKey(home, path);
    if (key !== null) keys[path] = key;
  }
  return keys;
}

/**
 * The place in a home's layout an absolute checkpoint path names, in whatever home, and its run
 * (`/old/H/checkpoints/run-3/ckpt-….safetensors` → run 3, `checkpoints/run-3/ckpt-….safetensors`);
 * null when it is not such a path.
 */
export function checkpointPlace(path: string): { runId: number; place: string } | null {
  const parts = path.split(/[\\/]/);
  const [folder, run, name] = parts.slice(-3);
  const id = /^run-(\d+)$/.exec(run ?? '');
  if (parts.length < 4 || folder !== CHECKPOINTS_DIR || !id || !name) return null;
  return { runId: Number(id[1]), place: `${folder}/${run}/${name}` };
}

export class OutsideHomeError extends Error {
  readonly code = 'outside-home';
  constructor(
    readonly path: string,
    readonly home: string,
    why: string,
    doing: 'delete' | 'write to',
  ) {
    super(
      `Plumage will not ${doing} ${path}: ${why}, outside the Plumage home ${home}. Plumage writes and deletes only ` +
        `inside its home, so that a copy of a home never touches the original. To keep a home on another disk, ` +
        `move the whole home there and point Plumage at it (--home DIR or PLUMAGE_HOME).`,
    );
    this.name = 'OutsideHomeError';
  }
}

/**
 * Why `path` is not inside `home` (null: it is). Lexically first (`..`), then on disk: the deepest
 * existing folder on its way (the path itself too, with `self`) must really lie in the home's
 * real folder, so a link in between (`checkpoints/` → another disk, or into the original of a copy)
 * counts as outside.
 */
function whyOutside(home: string, path: string, self: boolean): string | null {
  const root = resolve(home);
  const abs = resolve(path);
  if (!under(relative(root, abs))) return 'it is not inside the home';
  let at = self ? abs : dirname(abs);
  while (at !== root && !statSync(at, { throwIfNoEntry: false })) at = dirname(at);
  const realRoot = realOrNull(root) ?? root;
  const real = realOrNull(at);
  if (real === null || real === realRoot || under(relative(realRoot, real))) return null;
  // Name the link that leads out, for the message.
  for (let link = at; link !== root; link = dirname(link)) {
    if (lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) {
      return `${relative(root, link).split(sep).join('/')} is a link to ${readlinkSync(link)}`;
    }
  }
  return `it leads to ${real}`;
}

/** Throws OutsideHomeError unless the folder `dir` (made or to be made) is inside the home. */
export function assertWritableInHome(home: string, dir: string): void {
  const why = whyOutside(home, dir, true);
  if (why) throw new OutsideHomeError(resolve(dir), resolve(home), why, 'write to');
}

/** Throws OutsideHomeError unless deleting `path` (a link: the link itself) stays inside the home. */
export function assertDeletableInHome(home: string, path: string): void {
  const why = whyOutside(home, path, false);
  if (why) throw new OutsideHomeError(resolve(path), resolve(home), why, 'delete');
}

/** `rm -f` (`-r` with `recursive`) of a path inside the home; OutsideHomeError for one outside it. */
export async function removeInHome(home: string, path: string, opts: { recursive?: boolean } = {}): Promise<void> {
  assertDeletableInHome(home, path);
  await rm(path, { force: true, recursive: opts.recursive ?? false });
}

export function removeInHomeSync(home: string, path: string, opts: { recursive?: boolean } = {}): void {
  assertDeletableInHome(home, path);
  rmSync(path, { force: true, recursive: opts.recursive ?? false });
}
