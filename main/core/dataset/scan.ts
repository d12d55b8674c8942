import { opendir, realpath, statfs } from 'node:fs/promises';
import { join, relative, sep, isAbsolute, parse } from 'node:path';
import { withUserFile } from '../util/user-file.js';

/** Hidden files and folders (dot-names) are never part of a dataset. */
export const isHiddenName = (name: string): boolean => name.startsWith('.');

/** Forward-slash relative path, the form stored in the database. */
export const toRel = (root: string, abs: string): string => relative(root, abs).split(sep).join('/');

export function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** The reason an unreadable entry gets, as a rejected row. */
export const PERMISSION_DENIED = 'cannot read: permission denied';

export const isPermissionError = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EACCES' || code === 'EPERM';
};

/**
 * Kernel pseudo-filesystems, by statfs magic (linux/magic.h). Their files report size 0 (or
 * nonsense) and some never end (/proc/self/…), so no size check protects a scan of them.
 * devtmpfs shares tmpfs' magic, hence the path list too.
 */
const PSEUDO_FS_MAGIC = new Set([
  0x9fa0, // proc
  0x62656572, // sysfs
  0x1cd1, // devpts
  0x27e0eb, // cgroup
  0x63677270, // cgroup2
  0x64626720, // debugfs
  0x74726163, // tracefs
  0x73636673, // securityfs
  0xcafe4a11, // bpf
  0x6165676c, // pstore
  0x62656570, // configfs
  0xde5e81e4, // efivarfs
  0x65735543, // fusectl
  0x42494e4d, // binfmt_misc
  0x6e736673, // nsfs
  0xf97cff8c, // selinuxfs
  0x19800202, // mqueue
]);
const PSEUDO_FS_PATHS = ['/proc', '/sys', '/dev'];

/** True when `folder` lives on a kernel pseudo-filesystem (by statfs type; false where statfs cannot tell). */
export async function onPseudoFilesystem(folder: string): Promise<boolean> {
  const fs = await statfs(folder).catch(() => null);
  return !!fs && PSEUDO_FS_MAGIC.has(Number(fs.type));
}

/**
 * Why `folder` cannot be a dataset, or null when it can: the filesystem root (every file on the
 * machine) and kernel pseudo-filesystems are refused before anything is read or written.
 */
export async function whyNotDatasetFolder(folder: string): Promise<string | null> {
  const real = await realpath(folder).catch(() => folder);
  if (parse(real).root === real)
    return `${real} is the root of the filesystem: choose the folder that holds the images`;
  const posix = real.split(sep).join('/');
  const named = PSEUDO_FS_PATHS.find((p) => posix === p || posix.startsWith(`${p}/`));
  if (named) return `${real} is a system folder (${named}), not a folder of images`;
  if (await onPseudoFilesystem(real))
    return `${real} is on a kernel pseudo-filesystem (like /proc or /sys), not a folder of images`;
  return null;
}

/**
 * Reads a whole file, stopping once more than `maxBytes` have actually come back: the size
 * stat reports is not trusted (procfs says 0 and streams forever; a file may grow while read).
 * Returns null when the file is over the cap.
 */
export async function readCapped(path: string, maxBytes: number): Promise<Buffer | null> {
  return withUserFile(path, 'image file', (f) => f.readWhole(maxBytes));
}

/**
 * Lists candidate files under `root`: regular files, symlinks (checked later, where they
 * point) and what only pretends to be a file (pipes, devices, sockets: each is given its
 * rejected row, never read), skipping hidden names. Symlinked folders are not descended, so a link to `..` or
 * `/` can neither loop nor leak outside the folder. Sub-folders that cannot be read are
 * reported to `onUnreadable` (relative path) rather than failing the listing.
 */
export async function listCandidates(
  root: string,
  signal?: AbortSignal,
  onUnreadable?: (relDir: string) => void,
): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (err) {
      if (dir !== root && isPermissionError(err)) onUnreadable?.(toRel(root, dir));
      return; // vanished sub-folder: nothing to list
    }
    try {
      for await (const entry of handle) {
        if (signal?.aborted) return;
        if (isHiddenName(entry.name)) continue;
        const abs = join(dir, entry.name);
        if (entry.isDirectory()) await walk(abs);
        else if (!entry.isDirectory()) out.push(toRel(root, abs));
      }
    } catch (err) {
      if (dir === root || !isPermissionError(err)) throw err;
      onUnreadable?.(toRel(root, dir));
    }
  };
  await walk(root);
  return out.sort();
}
