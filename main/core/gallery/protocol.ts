/** Messages between the gallery and its generator process. */
import type { GalleryTask, TaskFile } from './tasks.js';

export type WorkerRequest = { type: 'task'; id: number; task: GalleryTask } | { type: 'cancel'; id: number };

export type WorkerReply =
  | ({ type: 'file'; id: number } & TaskFile)
  | { type: 'done'; id: number; files: string[]; cancelled: boolean }
  | { type: 'failed'; id: number; error: string; code?: string };
