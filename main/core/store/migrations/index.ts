import type { Migration } from '../db.js';
import { migration0001 } from './0001-init.js';
import { migration0002 } from './0002-runs.js';
import { migration0003 } from './0003-run-reliability.js';
import { migration0004 } from './0004-favourites.js';
import { migration0005 } from './0005-run-backend.js';
import { migration0006 } from './0006-home-relative-paths.js';
import { migration0007 } from './0007-run-pause-cause.js';
import { migration0008 } from './0008-run-started-from.js';
import { migration0009 } from './0009-live-generators.js';
import { migration0010 } from './0010-checkpoint-scores.js';
import { migration0011 } from './0011-favourite-latents.js';
import { migration0012 } from './0012-favourite-edit-vectors.js';
import { migration0013 } from './0013-run-branch-kimg.js';

/** Every migration, in order. Append only: a shipped migration is never edited. */
export const MIGRATIONS: readonly Migration[] = [
  migration0001,
  migration0002,
  migration0003,
  migration0004,
  migration0005,
  migration0006,
  migration0007,
  migration0008,
  migration0009,
  migration0010,
  migration0011,
  migration0012,
  migration0013,
];
