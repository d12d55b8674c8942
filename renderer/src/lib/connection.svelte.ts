import type { ClientStatus } from './api';

/**
 * Whether the page can reach the core, for the views to be honest with: while the server is
 * gone, what they show is as it was when it went (stale), and no control can work.
 */
export class Connection {
  connected = $state(true);
  /** When the server went away (ms since the epoch); null while connected. */
  lostAt = $state<number | null>(null);

  /** Follows `status` (the desktop app has none: always connected). */
  constructor(status?: ClientStatus) {
    if (!status) return;
    const sync = (): void => {
      this.connected = status.connected;
      this.lostAt = status.lostAt;
    };
    sync();
    status.onChange(sync);
  }
}
