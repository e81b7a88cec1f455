// Who is signed in, and the connection's state.

import { signal } from "@preact/signals";
import type { User } from "../types";

export const me = signal<User | null>(null);
/** false until the first GET /me has answered (or failed) */
export const booted = signal(false);
/** a notice for the sign-in screen ("your session has ended") */
export const notice = signal<"" | "ended" | "everywhere">("");

export type ConnState = "connecting" | "connected" | "offline";
export const conn = signal<ConnState>("connecting");
/** true once the socket has opened since sign-in: a later loss is a reconnect */
export const wasConnected = signal(false);
/** what we last told the server about presence */
export const away = signal(false);
