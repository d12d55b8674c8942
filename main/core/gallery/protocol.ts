/** The gallery's generator process's protocol (spoken with util/child-rpc.ts). */
import type { GalleryTask, TaskFile } from './tasks.js';

export interface GeneratorProtocol {
  requests: {
    /**
     * One task, written file by file (`file` events); `cancelled` when it was stopped, with the
     * files written before then. `lanes`: how many batches may be drawn at once (one per core;
     * fewer while a run trains).
     */
    task: { params: { task: GalleryTask; lanes: number }; result: { files: string[]; cancelled: boolean } };
  };
  events: { file: TaskFile };
}
