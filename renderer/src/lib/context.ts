import { getContext } from 'svelte';
import type { PlumageApi } from '../../../preload/contract';
import type { ClientStatus } from './api';
import { Connection } from './connection.svelte';

const API = Symbol('plumage-api');
const STATUS = Symbol('plumage-client-status');
const CONNECTION = Symbol('plumage-connection');

/** The API client is a service handed down by context, never a global: `mount(App, { context: apiContext(api) })`. */
export const apiContext = (api: PlumageApi, status?: ClientStatus): Map<symbol, unknown> =>
  new Map<symbol, unknown>([
    [API, api],
    [STATUS, status],
    [CONNECTION, new Connection(status)],
  ]);
export const useApi = (): PlumageApi => getContext<PlumageApi>(API);
/** Connection state and failed reads, for the error banner. */
export const useClientStatus = (): ClientStatus | undefined => getContext<ClientStatus | undefined>(STATUS);
/** Whether the core is reachable now, reactively (always, in the desktop app). */
export const useConnection = (): Connection => getContext<Connection | undefined>(CONNECTION) ?? new Connection();
