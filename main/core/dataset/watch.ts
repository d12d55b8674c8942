import { watch } from 'chokidar';
import { basename } from 'node:path';
import { isHiddenName, toRel } from './scan.js';

export interface FolderWatcher {
  close(): Promise<void>;
}

export interface WatchHandlers {
  /** Milliseconds a file's size must hold still before it is reported (a copy in progress is not an image yet). */
  settleMs: number;
  /** A file appeared, changed or disappeared: look at it again (relative path). */
  onFile(rel: string): void;
  onFolderGone(relDir: string): void;
  onFolderAdded(relDir: string): void;
  onError(err: Error): void;
}

/**
 * Watches a dataset folder. A rename arrives as unlink + add, and both land in `onFile`,
 * which looks at the disk rather than trusting the event name. Symlinks are reported, never
 * followed (a link loop or a link to `/` cannot make the watcher walk forever).
 */
export async function watchFolder(root: string, h: WatchHandlers): Promise<FolderWatcher> {
  const watcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    ignored: (path: string) => path !== root && isHiddenName(basename(path)),
    awaitWriteFinish: { stabilityThreshold: h.settleMs, pollInterval: Math.max(25, Math.round(h.settleMs / 4)) },
  });
  const rel = (p: string): string => toRel(root, p);
  watcher
    .on('add', (p) => h.onFile(rel(p)))
    .on('change', (p) => h.onFile(rel(p)))
    .on('unlink', (p) => h.onFile(rel(p)))
    .on('addDir', (p) => p !== root && h.onFolderAdded(rel(p)))
    .on('unlinkDir', (p) => p !== root && h.onFolderGone(rel(p)))
    .on('error', (err) => h.onError(err instanceof Error ? err : new Error(String(err))));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { close: () => watcher.close() };
}
