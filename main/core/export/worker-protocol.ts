/** The export process's protocol (export-worker.ts, spoken with util/child-rpc.ts): one job per process. */
import type { ExportKind } from '../../common/vocabulary.js';
import type { ExportProgress, PrintOptions } from '../../common/records.js';
import type { ContactSheetOptions } from './contact-sheet.js';
import type { PrintPlan } from './print-plan.js';
import type { FavouriteSource } from './types.js';

/** The heavy part of an export, as plain data: everything in it was checked before it was sent. */
export type ExportWork =
  | { kind: 'prints'; plan: PrintPlan<FavouriteSource>; options: PrintOptions; overwrite: boolean }
  | {
      kind: 'contact-sheet';
      sources: FavouriteSource[];
      options: ContactSheetOptions;
      path: string;
      overwrite: boolean;
    };

export interface ExportProtocol {
  requests: {
    /**
     * Runs one job. Its result carries the job's last progress (what was written, what failed)
     * and `error`: null when the work finished, even if some items failed.
     */
    run: {
      params: { jobId: number; kind: ExportKind; total: number; work: ExportWork };
      result: { progress: ExportProgress; error: string | null };
    };
  };
  events: { progress: ExportProgress };
}
