/**
 * What both shells (and the renderer's own <meta>) agree on about the page's security:
 * one Content-Security-Policy, one media scheme and one rule for which home files are media.
 * Defined once here so the Electron shell, the headless server and the build cannot drift.
 */
import { MEDIA_SCHEME, type ApiError } from '../../../preload/contract.js';

/** Custom protocol the Electron window loads thumbnails and grids through (the preload names it too). */
export { MEDIA_SCHEME };

/**
 * The page may load only its own scripts and styles, and talk only to the server that served it
 * (`'self'` covers same-origin ws: in CSP Level 3). Images may also come from the media scheme.
 */
export const CSP = [
  "default-src 'self'",
  `img-src 'self' data: blob: ${MEDIA_SCHEME}:`,
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/** Media the page may fetch from the home: thumbnails, sample grids and drawn birds. Nothing else. */
const MEDIA_KEY = /^(thumbs|samples|gallery)\/[A-Za-z0-9_\-/]+\.png$/;

/** True when `key` (a path relative to the home, already percent-decoded) names a media file. */
export function isMediaKey(key: string): boolean {
  return MEDIA_KEY.test(key) && !key.split('/').includes('..');
}

/** The error shape that crosses the boundary, from anything thrown in the core. */
export function toApiError(err: unknown): ApiError {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'invalid-input' || code === 'not-found' || code === 'unsupported') return { code, message };
  return { code: 'failed', message };
}
