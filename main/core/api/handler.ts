/**
 * The request handler both shells share: a name and raw params in, one reply out, never a
 * throw. Electron's ipcMain and the headless server's WebSocket are only the transports around
 * it, so what a hostile message can do is decided (and tested) here, without Electron.
 */
import { REQUEST_CHANNELS, type ApiError, type ClientFrame, type RequestName } from '../../../preload/contract.js';
import type { Studio } from '../studio.js';
import { toApiError } from './security.js';

export type Reply = { ok: true; result: unknown } | { ok: false; error: ApiError };

/** The shell's own folder dialog (Electron); the server has none and falls back to the core's refusal. */
export type PickFolder = () => Promise<string | null>;

const isRequestName = (name: unknown): name is RequestName =>
  typeof name === 'string' && (REQUEST_CHANNELS as readonly string[]).includes(name);

/** Runs one request against the studio; every failure becomes an error reply. */
export async function handleRequest(
  studio: Studio,
  name: unknown,
  params: unknown,
  pickFolder?: PickFolder,
): Promise<Reply> {
  try {
    if (!isRequestName(name)) {
      const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : typeof name;
      return { ok: false, error: { code: 'invalid-input', message: `unknown request ${shown}` } };
    }
    if (name === 'pickFolder') return { ok: true, result: await (pickFolder ?? (() => studio.pickFolder()))() };
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
