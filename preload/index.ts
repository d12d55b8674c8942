/**
 * The sandboxed preload: exposes `window.plumage`, a narrow bridge built from the contract's
 * channel lists. The page never sees ipcRenderer itself.
 */
import { contextBridge, ipcRenderer } from 'electron';
import {
  EVENT_CHANNELS,
  REQUEST_CHANNELS,
  ipcEventChannel,
  ipcRequestChannel,
  type EventName,
  type PreloadBridge,
  MEDIA_SCHEME,
  type RequestName,
} from './contract.js';

const bridge: PreloadBridge = {
  invoke(channel: RequestName, params: unknown) {
    if (!REQUEST_CHANNELS.includes(channel)) return Promise.reject(new Error(`unknown channel ${String(channel)}`));
    return ipcRenderer.invoke(ipcRequestChannel(channel), params);
  },
  on(event: EventName, listener: (payload: unknown) => void) {
    if (!EVENT_CHANNELS.includes(event)) throw new Error(`unknown event ${String(event)}`);
    const wrapped = (_e: unknown, payload: unknown): void => listener(payload);
    ipcRenderer.on(ipcEventChannel(event), wrapped);
    return () => void ipcRenderer.off(ipcEventChannel(event), wrapped);
  },
  mediaScheme: MEDIA_SCHEME,
};

contextBridge.exposeInMainWorld('plumage', bridge);
