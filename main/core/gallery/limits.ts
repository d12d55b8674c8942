/**
 * Animation limits, in a module of their own so the request schemas (core/api) can name them
 * without loading sharp.
 */
export const MAX_FRAMES = 1000;
export const MAX_FPS = 60;
