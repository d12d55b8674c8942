/** Messages between the studio and an export process (export-worker.ts): one job per process. */
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

export type ExportRequest =
  { type: 'start'; jobId: number; kind: ExportKind; total: number; work: ExportWork } | { type: 'cancel' };

/**
 * `end` carries the job's last progress (what was written, what failed) and `error`: null when
 * the work finished, even if some items failed.
 */
export type ExportReply =
  { type: 'progress'; progress: ExportProgress } | { type: 'end'; progress: ExportProgress; error: string | null };
