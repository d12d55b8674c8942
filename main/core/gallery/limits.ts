/**
 * Animation limits and the lengths of what a person types for a favourite, in a module of their
 * own so the request schemas (core/api), the gallery and the CLI name the same numbers without
 * loading sharp.
 */
export const MAX_FRAMES = 1000;
export const MAX_FPS = 60;
/**
 * WebP and GIF store a frame's delay in 16 bits of milliseconds (at most 65,535 ms), so below
 * 1000 / 65535 ≈ 0.0153 fps an animation cannot be written; 0.016 is the nearest round bound.
 */
export const MIN_FPS = 0.016;
/** What the fps fields say when refused. */
export const FPS_RANGE = `must be from ${MIN_FPS} to ${MAX_FPS} (a frame can stay at most 65 seconds)`;

export const MAX_NAME_LENGTH = 200;
export const MAX_NOTE_LENGTH = 10_000;

/** Seeds one generate may ask for: a few screenfuls (the UI pages); generateFiles draws in batches of it. */
export const MAX_SEEDS_PER_REQUEST = 256;
