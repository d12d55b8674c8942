import { opendir } from 'node:fs/promises';
import { join, relative, sep, isAbsolute } from 'node:path';

/** Hidden files and folders (dot-names) are never part of a dataset. */
export const isHiddenName = (name: string): boolean => name.startsWith('.');

/** Forward-slash relative path, the form stored in the database. */
export const toRel = (root: string, abs: string): string => relative(root, abs).split(sep).join('/');

export function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Lists candidate files under `root`: regular files and symlinks (checked later, where they
 * point), skipping hidden names. Symlinked folders are not descended, so a link to `..` or
 * `/` can neither loop nor leak outside the folder.
 */
export async function listCandidates(root: string, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let handle;
    try {
      handle = await opendir(dir);
    } catch {
      return; // unreadable or vanished sub-folder: nothing to list
    }
    for await (const entry of handle) {
      if (signal?.aborted) return;
      if (isHiddenName(entry.name)) continue;
      const abs = join(dir, entry.name);
      if (entry.isDirectory()) await walk(abs);
      else if (entry.isFile() || entry.isSymbolicLink()) out.push(toRel(root, abs));
    }
  };
  await walk(root);
  return out.sort();
}
