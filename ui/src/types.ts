// The shapes of docs/protocol.md, as the client uses them.

export interface User {
  id: string;
  name: string;
  avatar_url: string;
  guest?: boolean;
  /** IANA name ("Asia/Tokyo"), "" when unknown */
  time_zone?: string;
  created_at?: string;
}

/** Anybody's public profile: GET /api/v1/users/{id}. */
export interface Profile {
  id: string;
  name: string;
  avatar_url: string;
  guest: boolean;
  time_zone: string;
  disabled?: boolean;
}

/** An author as messages, members and signals carry it. */
export interface Author {
  id: string;
  name: string;
  avatar_url?: string;
  /** members lists only */
  time_zone?: string;
}

export interface Room {
  id: number;
  name: string;
  /** one line of plain text, "" for none */
  topic?: string;
  private: boolean;
  kind?: string; // "direct" for a direct room
  parent?: number;
  created_by: string;
  created_at: string;
  last_seq: number;
  member: boolean;
}

export interface Reaction {
  emoji: string;
  count: number;
  users: string[];
  mine: boolean;
}

export type EventKind = "message" | "edit" | "delete" | "react" | "unreact" | "room";

/** A stream event, or a folded message from /history and /threads. */
export interface Message {
  room: number;
  seq: number;
  id?: string;
  client_id?: string;
  kind?: EventKind;
  author: Author;
  body: string;
  created_at: string;
  thread?: string;
  target?: string;
  emoji?: string;
  child?: number;
  mentions?: string[];
  mentions_room?: boolean;
  // folded in by the server's history (and by the client)
  edited_at?: string;
  deleted?: boolean;
  replies?: number;
  last_reply_at?: string;
  reactions?: Reaction[];
  /** made from an ack: the stream brings the real one */
  provisional?: boolean;
}

export interface UnreadCount {
  room: number;
  last_read: number;
  last_seq: number;
  unread: number;
  mentions: number;
}

export interface UnreadThread {
  room: number;
  root: string;
  last_read: number;
  unread: number;
}

/** Frames the server sends. */
export type ServerFrame =
  | ({ type: "message" } & Message)
  | { type: "ack"; room: number; client_id: string; seq: number; id: string }
  | { type: "subscribed"; room: number; seq: number }
  | { type: "unsubscribed"; room: number }
  | { type: "error"; code: string; message: string; room?: number; client_id?: string }
  | { type: "read"; room: number; seq: number; unread?: boolean }
  | { type: "typing"; room: number; user: Author }
  | { type: "presence"; room: number; user: Author; state: "online" | "away" | "offline" }
  | { type: "room"; room: Room }
  | { type: "room_gone"; room: number }
  | { type: "profile"; user: Author }
  | { type: "member"; room: number; user: Author; member: boolean };

/** Frames the client sends. */
export type ClientFrame =
  | { type: "subscribe"; room: number; after?: number }
  | { type: "unsubscribe"; room: number }
  | SendFrame
  | { type: "read"; room: number; seq: number }
  | { type: "typing"; room: number }
  | { type: "presence"; state: "online" | "away" };

export interface SendFrame {
  type: "send";
  room: number;
  client_id: string;
  body?: string;
  thread?: string;
  kind?: "edit" | "delete" | "react" | "unreact";
  target?: string;
  emoji?: string;
}
