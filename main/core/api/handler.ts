/**
 * The request handler both shells share: a name and raw params in, one reply out, never a
 * throw. Electron's ipcMain and the headless server's WebSocket are only the transports around
 * it, so what a hostile message can do is decided (and tested) here, without Electron.
 */
import { REQUEST_CHANNELS, type ApiError, type ClientFrame, type RequestName } from '../../../preload/contract.js';
import type { Studio } from '../studio.js';
import { toApiError } from './security.js';

export type Reply = { ok: true; result: unknown } | { ok: false; error: ApiError };

/** What only a shell can do (Electron's dialogs and file manager); the server has neither. */
export interface ShellActions {
  /** A native folder dialog; without one the core's refusal answers. */
  pickFolder?: () => Promise<string | null>;
  /** Shows a file the core has allowed (Studio.revealFile) in the system's file manager. */
  revealFile?: (path: string) => Promise<void> | void;
}

/** Why revealFile cannot work in a shell without a file manager: the page downloads instead. */
export const NO_FILE_MANAGER =
  'the file manager is on the machine Plumage runs on, not here: download the file from this page instead';

const isRequestName = (name: unknown): name is RequestName =>
  typeof name === 'string' && (REQUEST_CHANNELS as readonly string[]).includes(name);

/** Runs one request against the studio; every failure becomes an error reply. */
export async function handleRequest(
  studio: Studio,
  name: unknown,
  params: unknown,
  shell: ShellActions = {},
): Promise<Reply> {
  try {
    if (!isRequestName(name)) {
      const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : typeof name;
      return { ok: false, error: { code: 'invalid-input', message: `unknown request ${shown}` } };
    }
    if (name === 'pickFolder') return { ok: true, result: await (shell.pickFolder ?? (() => studio.pickFolder()))() };
    if (name === 'revealFile') {
      const path = await studio.handle('revealFile', params); // the core decides what may be shown
      if (!shell.revealFile) return { ok: false, error: { code: 'unsupported', message: NO_FILE_MANAGER } };
      await shell.revealFile(path);
      return { ok: true, result: path };
    }
    return { ok: true, result: await studio.handle(name, params) };
  } catch (err) {
    return { ok: false, error: toApiError(err) };
  }
}

/**
 * Parses one WebSocket text message into a frame; null when it is not one (not JSON, not an
 * object, or no usable id to answer to). The method and params are left to `handleRequest`.
 */
export function parseClientFrame(text: string): ClientFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { id, method, params } = value as Record<string, unknown>;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return null;
  return { id, method: method as RequestName, params };
}
