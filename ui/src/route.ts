// The location hash is the route: #/rooms/3, #/rooms/3/threads/<root id>.
// The server serves index.html at its base path only, so the hash is all
// the client's addressing.

export interface Route {
  room: number | null;
  thread: string | null;
}

export function parseRoute(hash: string): Route {
  const m = /^#\/rooms\/(\d+)(?:\/threads\/([^/]+))?\/?$/.exec(hash);
  if (!m) {
    // the old client's address, #room=3
    const old = /^#room=(\d+)$/.exec(hash);
    return { room: old ? Number(old[1]) : null, thread: null };
  }
  return { room: Number(m[1]), thread: m[2] ? decodeURIComponent(m[2]) : null };
}

export function roomHash(room: number, thread?: string | null): string {
  return thread ? `#/rooms/${room}/threads/${encodeURIComponent(thread)}` : `#/rooms/${room}`;
}
