// The one WebSocket of the page: connecting, reconnecting with backoff,
// frames in and out. What the frames mean is the caller's business.

import type { ClientFrame, ServerFrame } from "./types";

export const BACKOFF_MIN = 250; // ms
export const BACKOFF_MAX = 5000; // ms

/**
 * backoffDelay doubles from BACKOFF_MIN up to BACKOFF_MAX; each wait is a
 * random point in its upper half, so a restarted server is not hit by every
 * client at the same instant.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** Math.min(attempt, 16));
  return ceiling / 2 + random() * (ceiling / 2);
}

export interface SocketHandlers {
  /** the socket is open; id names this connection */
  open(id: number): void;
  frame(f: ServerFrame): void;
  /** the socket closed; opened says whether it had opened at all */
  close(code: number, opened: boolean): void;
}

/** Counters the browser tests read (window.hanashiDebug). */
export const debug = {
  gaps: 0,
  duplicates: 0,
  reconnects: 0,
  closeCodes: [] as number[],
  idle: () => {},
  /** the feeds' cursors and counts */
  feeds: (): unknown[] => [],
};

export class Socket {
  private ws: WebSocket | null = null;
  private id = 0;
  private attempt = 0;
  private retry = 0;
  private stable = 0;
  private stopped = true;

  constructor(
    private readonly url: () => string,
    private readonly on: SocketHandlers,
  ) {}

  get live(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** connection is the id of the open connection, 0 when there is none. */
  get connection(): number {
    return this.live ? this.id : 0;
  }

  start(): void {
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.stable);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
  }

  /** now tries at once (back online, page shown again) if not connected. */
  now(): void {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  /** drop closes the connection to reconnect (possibly to another node). */
  drop(code = 4000, reason = "reconnect"): void {
    this.ws?.close(code, reason);
  }

  send(f: ClientFrame): boolean {
    if (!this.live) return false;
    this.ws!.send(JSON.stringify(f));
    return true;
  }

  /** later schedules the next attempt after the backoff; slow makes it the longest. */
  later(slow = false): void {
    if (this.stopped || this.ws) return;
    if (slow) this.attempt = Math.max(this.attempt, 16);
    clearTimeout(this.retry);
    this.retry = window.setTimeout(() => this.connect(), backoffDelay(this.attempt++));
  }

  private connect(): void {
    clearTimeout(this.retry);
    if (this.stopped || this.ws) return;
    const id = ++this.id;
    let opened = false;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      opened = true;
      // Reset the backoff only once the connection proved stable, so a
      // server that accepts and closes at once is not hammered.
      this.stable = window.setTimeout(() => (this.attempt = 0), 5000);
      this.on.open(id);
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let f: ServerFrame;
      try {
        f = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        console.error("bad frame", ev.data);
        return;
      }
      this.on.frame(f);
    };
    ws.onclose = (ev) => {
      clearTimeout(this.stable);
      if (this.ws !== ws) return;
      this.ws = null;
      if (opened) debug.closeCodes.push(ev.code);
      if (this.stopped) return;
      debug.reconnects++;
      this.on.close(ev.code, opened);
    };
  }
}
