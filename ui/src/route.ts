// The location hash is the route: #/rooms/3, #/rooms/3/threads/<root id>,
// and a message's permalink #/rooms/3/messages/<id> (a reply's:
// #/rooms/3/threads/<root id>/messages/<id>). The server serves index.html
// at its base path only, so the hash is all the client's addressing.

export interface Route {
  room: number | null;
  thread: string | null;
  /** the message a permalink points at: scrolled to and highlighted */
  message: string | null;
}

export function parseRoute(hash: string): Route {
  const m = /^#\/rooms\/(\d+)(?:\/threads\/([^/]+))?(?:\/messages\/([^/]+))?\/?$/.exec(hash);
  if (!m) {
    // the old client's address, #room=3
    const old = /^#room=(\d+)$/.exec(hash);
    return { room: old ? Number(old[1]) : null, thread: null, message: null };
  }
  const dec = (s: string | undefined) => (s ? decodeURIComponent(s) : null);
  return { room: Number(m[1]), thread: dec(m[2]), message: dec(m[3]) };
}

export function roomHash(room: number, thread?: string | null): string {
  return thread ? `#/rooms/${room}/threads/${encodeURIComponent(thread)}` : `#/rooms/${room}`;
}

/** messageHash is the permalink route of message id; thread is its root when it is a reply. */
export function messageHash(room: number, id: string, thread?: string | null): string {
  return `${roomHash(room, thread)}/messages/${encodeURIComponent(id)}`;
}

/** permalink is the full address of a message, to copy and share. */
export function permalink(room: number, id: string, thread?: string | null): string {
  return location.origin + location.pathname + messageHash(room, id, thread);
}
