/** Messages between the gallery and its generator process. */
import type { GalleryTask, TaskFile } from './tasks.js';

/** `lanes`: how many batches may be drawn at once (one per core; fewer while a run trains). */
export type WorkerRequest =
  { type: 'task'; id: number; task: GalleryTask; lanes: number } | { type: 'cancel'; id: number };

export type WorkerReply =
  | ({ type: 'file'; id: number } & TaskFile)
  | { type: 'done'; id: number; files: string[]; cancelled: boolean }
  | { type: 'failed'; id: number; error: string; code?: string };
