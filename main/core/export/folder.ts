/**
 * Where an export may write: one rule for the output folder of every export (prints, contact
 * sheets, dataset zips, time-lapses, interpolations, and the CLI's `generate` and
 * `favourite render`), checked before anything is drawn.
 *
 * - Absolute only. A relative folder would land in whatever the serving process's working
 *   folder is; the CLI resolves a relative `--out` against the user's current folder before
 *   sending it, and the app asks for an absolute one.
 * - Created if missing (`--out prints/` for a folder that does not exist yet), one level at a
 *   time, and removed again when the export fails before writing anything into it.
 * - Never inside the Plumage home except its `exports/` folder: `checkpoints/`, `gallery/` and
 *   the rest belong to the studio (and `gallery/` is served as media).
 * - Never a system folder (the filesystem's root, /etc, /usr, /proc, C:\Windows, …) nor a
 *   kernel pseudo-filesystem.
 * Symlinks are followed for the home and system checks, so a link into the home is no way round.
 */
import { mkdir, realpath, rmdir, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import { onPseudoFilesystem } from '../dataset/scan.js';
import { reasonFor } from './write-errors.js';
import { exportsDir } from '../home-layout.js';
import { MAX_FILE_NAME_BYTES, MAX_PATH_BYTES, utf8Length, whyUnsafeText } from '../util/text.js';

/** The home's own export folder (home-layout.ts owns it): where exports go when no folder is given. */
export const homeExportsFolder = exportsDir;

export class ExportFolderError extends RangeError {
  readonly code = 'invalid-input';
}

/** True when `path` is `root` or lies below it (both absolute and normalised). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Folders (and everything below them) an export never writes into; the temporary folder is exempt. */
function systemFolders(): string[] {
  if (process.platform === 'win32') {
    const env = ['SystemRoot', 'ProgramFiles', 'ProgramFiles(x86)', 'ProgramData'];
    return env.flatMap((k) => (process.env[k] ? [resolve(process.env[k]!)] : []));
  }
  const posix = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/run', '/sbin'];
  const more = ['/sys', '/usr', '/var', '/System', '/Library', '/private/etc', '/private/var', '/snap'];
  return [...posix, ...more];
}

/**
 * Folders of the user's inside the system ones: temporary folders (macOS keeps them under
 * /private/var/folders), removable disks (/run/media/USER on Fedora and Arch), and homes that
 * image-based systems keep under /var (Fedora Silverblue: /home → /var/home).
 */
const USERS_OWN = [
  '/tmp',
  '/var/tmp',
  '/private/tmp',
  '/private/var/tmp',
  '/private/var/folders',
  '/var/folders',
  '/run/media',
  '/var/home',
  '/var/roothome',
  '/var/mnt',
];

/**
 * The folder an export will write into, checked (not created: see makeExportFolder). Without
 * `requested` it is the home's `exports/`. Throws ExportFolderError with the reason otherwise.
 */
export async function checkExportFolder(requested: string | undefined, home: string): Promise<string> {
  if (requested === undefined) return homeExportsFolder(resolve(home));
  const unsafe = whyUnsafeText(requested);
  if (unsafe) throw new ExportFolderError(`the export folder ${JSON.stringify(requested)} ${unsafe}`);
  if (!isAbsolute(requested))
    throw new ExportFolderError(
      `the export folder must be an absolute path, got ${JSON.stringify(requested)}: a relative one would ` +
        'land wherever the studio happens to run (the CLI resolves --out against your current folder)',
    );
  const folder = resolve(requested);
  checkLengths(folder);
  const real = await realFolder(folder);
  for (const path of new Set([folder, real])) {
    const why = whySystemFolder(path);
    if (why) throw new ExportFolderError(why);
  }
  const existing = await nearestExisting(folder);
  if (parse(existing).root === existing)
    throw new ExportFolderError(
      `${folder} would be made in the root of the filesystem: choose a folder of your own (or make it first)`,
    );
  if (await onPseudoFilesystem(existing))
    throw new ExportFolderError(
      `${folder} is on a kernel pseudo-filesystem (like /proc or /sys): choose another folder`,
    );
  await checkOutsideHome(folder, real, home);
  return folder;
}

/**
 * Creates `folder` and any missing parents, one level at a time (a recursive mkdir retries for
 * ever where a parent refuses new entries with ENOENT, as procfs does); returns the folders it
 * made, outermost first, for removeCreated.
 */
export async function makeExportFolder(folder: string): Promise<string[]> {
  const missing: string[] = [];
  for (let at = folder; ; at = dirname(at)) {
    const st = await stat(at).catch((err: NodeJS.ErrnoException) => err);
    if (!(st instanceof Error)) {
      if (!st.isDirectory()) throw notAFolder(at, folder);
      break;
    }
    if (st.code !== 'ENOENT' && st.code !== 'ENOTDIR')
      throw new ExportFolderError(`cannot open the export folder ${at}: ${reasonFor(st)}`);
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  const made: string[] = [];
  for (const f of missing) {
    const err = await mkdir(f).then(
      () => null,
      (e: NodeJS.ErrnoException) => e,
    );
    if (err?.code === 'EEXIST') {
      // Made meanwhile, or a dangling link: fine only if it is a folder now.
      if (!(await stat(f).catch(() => null))?.isDirectory()) throw notAFolder(f, folder);
      continue;
    }
    if (err) throw new ExportFolderError(`cannot make the export folder ${f}: ${reasonFor(err)}`);
    made.push(f);
  }
  return made;
}

/** Removes the folders makeExportFolder made, innermost first, where they are still empty. */
export async function removeCreated(made: string[]): Promise<void> {
  for (const f of [...made].reverse()) await rmdir(f).catch(() => undefined);
}

const notAFolder = (at: string, folder: string): ExportFolderError =>
  new ExportFolderError(
    at === folder ? `${folder} is a file, not a folder` : `${at} is a file, so the folder ${folder} cannot be made`,
  );

function checkLengths(folder: string): void {
  if (utf8Length(folder) > MAX_PATH_BYTES)
    throw new ExportFolderError(
      `the export folder's path is ${utf8Length(folder)} bytes; at most ${MAX_PATH_BYTES} fit`,
    );
  for (let at = folder; dirname(at) !== at; at = dirname(at)) {
    const name = basename(at);
    if (utf8Length(name) > MAX_FILE_NAME_BYTES)
      throw new ExportFolderError(
        `the folder name ${JSON.stringify(`${[...name].slice(0, 40).join('')}…`)} in the export folder is ` +
          `${utf8Length(name)} bytes long; a name can have at most ${MAX_FILE_NAME_BYTES}: choose a shorter one`,
      );
  }
}

function whySystemFolder(path: string): string | null {
  if (parse(path).root === path) return `${path} is the root of the filesystem: choose a folder of your own`;
  const own = [...USERS_OWN, resolve(tmpdir()), resolve(homedir())].filter((t) => parse(t).root !== t);
  if (own.some((t) => isWithin(t, path))) return null;
  const system = systemFolders().find((s) => isWithin(s, path));
  return system ? `${path} is inside the system folder ${system}: choose a folder of your own` : null;
}

async function checkOutsideHome(folder: string, real: string, home: string): Promise<void> {
  const homeAbs = resolve(home);
  const homeReal = await realpath(homeAbs).catch(() => homeAbs);
  const exportsReal = await realpath(homeExportsFolder(homeReal)).catch(() => homeExportsFolder(homeReal));
  const inside =
    (isWithin(homeAbs, folder) && !isWithin(homeExportsFolder(homeAbs), folder)) ||
    (isWithin(homeReal, real) && !isWithin(exportsReal, real));
  if (inside)
    throw new ExportFolderError(
      `${folder} is inside the Plumage home ${homeAbs}, which holds the studio's own files: export into ` +
        `${homeExportsFolder(homeAbs)} or a folder outside the home`,
    );
}

/** The nearest folder of `path` (itself or a parent) that exists. */
async function nearestExisting(path: string): Promise<string> {
  let at = path;
  while (!(await stat(at).catch(() => null)) && dirname(at) !== at) at = dirname(at);
  return at;
}

/** `folder` with its existing part's symlinks resolved (the rest does not exist yet, so has none). */
async function realFolder(folder: string): Promise<string> {
  const existing = await nearestExisting(folder);
  const real = await realpath(existing).catch(() => existing);
  return join(real, relative(existing, folder));
}
