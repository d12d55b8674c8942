import { getContext } from 'svelte';
import type { PlumageApi } from '../../../preload/contract';

const API = Symbol('plumage-api');

/** The API client is a service handed down by context, never a global: `mount(App, { context: apiContext(api) })`. */
export const apiContext = (api: PlumageApi): Map<symbol, unknown> => new Map([[API, api]]);
export const useApi = (): PlumageApi => getContext<PlumageApi>(API);
