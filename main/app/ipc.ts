import { ipcMain, type BrowserWindow } from 'electron';
import { EVENT_CHANNELS, REQUEST_CHANNELS, ipcEventChannel, ipcRequestChannel } from '../../preload/contract.js';
import type { Studio } from '../core/studio.js';
import { handleRequest, type ShellActions } from '../core/api/handler.js';

/**
 * Registers every request channel of the contract on ipcMain (the only file that touches
 * ipcMain), answering through the shared `handleRequest`, and forwards every Studio event to
 * the window. Returns a function that undoes both.
 */
export function bindIpc(studio: Studio, window: BrowserWindow, shell: ShellActions): () => void {
  for (const name of REQUEST_CHANNELS) {
    ipcMain.handle(ipcRequestChannel(name), async (event, params: unknown) => {
      if (event.senderFrame?.url && !event.senderFrame.url.startsWith('file://')) {
        return { ok: false, error: { code: 'failed', message: 'request from an unexpected page' } };
      }
      return handleRequest(studio, name, params, shell);
    });
  }
  const off = EVENT_CHANNELS.map((name) => {
    const forward = (payload: unknown): void => {
      if (!window.isDestroyed()) window.webContents.send(ipcEventChannel(name), payload);
    };
    studio.on(name, forward);
    return () => studio.off(name, forward);
  });
  return () => {
    for (const name of REQUEST_CHANNELS) ipcMain.removeHandler(ipcRequestChannel(name));
    for (const f of off) f();
  };
}
