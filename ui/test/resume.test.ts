// @vitest-environment-options {"url": "http://localhost:8080/"}
//
// The controller against a fake server: a fake WebSocket and fetch. On
// every (re)connect each member room is subscribed after its cursor, the
// outbox goes again with the same client ids, `unavailable` means a new
// connection and a resend, and 4001 ends the session.

import "fake-indexeddb/auto";
import { afterAll, describe, expect, it, vi } from "vitest";

class FakeWS {
  static readonly OPEN = 1;
  static all: FakeWS[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeWS.all.push(this);
  }
  send(s: string) {
    this.sent.push(JSON.parse(s) as Record<string, unknown>);
  }
  close(code = 1000) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code });
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(f: unknown) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  static last(): FakeWS {
    return FakeWS.all[FakeWS.all.length - 1]!;
  }
}

const user = { id: "u1", name: "alice", avatar_url: "" };
const room = { id: 1, name: "team", private: false, created_by: "u1", created_at: "", last_seq: 5, member: true };
let signedIn = true;

function reply(body: unknown, status = 200): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
  const path = String(input).replace(/^.*api\/v1\//, "");
  if (!signedIn) return reply({ error: { code: "unauthorized", message: "no session" } }, 401);
  if (path === "me") return reply({ user });
  if (path === "rooms") return reply({ rooms: [room] });
  if (path === "unread") return reply({ rooms: [{ room: 1, last_read: 5, last_seq: 5, unread: 0, mentions: 0 }], threads: [] });
  if (path.startsWith("rooms/1/members")) return reply({ members: [user] });
  return reply({ error: { code: "not_found", message: "no" } }, 404);
});

vi.stubGlobal("WebSocket", FakeWS);
vi.stubGlobal("fetch", fetchMock);

const client = await import("../src/client");
const { me } = await import("../src/state/session");
const { pending } = await import("../src/state/view");

const subscribes = (ws: FakeWS) => ws.sent.filter((f) => f.type === "subscribe");
const sends = (ws: FakeWS) => ws.sent.filter((f) => f.type === "send");

afterAll(() => vi.unstubAllGlobals());

describe("resume and resend", () => {
  it("subscribes every member room after its cursor on connect", async () => {
    await client.start();
    await vi.waitFor(() => expect(me.value?.id).toBe("u1"));
    const ws = FakeWS.last();
    expect(ws.url).toBe("ws://localhost:8080/api/v1/ws");
    ws.open();
    await vi.waitFor(() => expect(subscribes(ws)).toContainEqual({ type: "subscribe", room: 1, after: 5 }));
  });

  it("after a drop, resubscribes after the highest seq received, and sends what waited, once each", async () => {
    const ws = FakeWS.last();
    ws.frame({ type: "message", room: 1, seq: 6, id: "m6", kind: "message", author: { id: "u2", name: "bob" }, body: "hi", created_at: "2026-11-23T10:00:00Z" });
    ws.frame({ type: "message", room: 1, seq: 7, id: "m7", kind: "message", author: { id: "u2", name: "bob" }, body: "ho", created_at: "2026-11-23T10:00:01Z" });
    ws.close(1001); // the server restarts
    client.send(1, "written offline");
    client.send(1, "and another");
    expect(pending.value.map((e) => e.body)).toEqual(["written offline", "and another"]);
    await vi.waitFor(() => expect(FakeWS.all.length).toBe(2), { timeout: 3000 });
    const again = FakeWS.last();
    again.open();
    await vi.waitFor(() => expect(subscribes(again)).toContainEqual({ type: "subscribe", room: 1, after: 7 }));
    const sent = sends(again);
    expect(sent.map((f) => f.body)).toEqual(["written offline", "and another"]);
    const ids = sent.map((f) => f.client_id);
    // acked: out of the outbox
    again.frame({ type: "ack", room: 1, client_id: ids[0], seq: 8, id: "m8" });
    expect(pending.value.map((e) => e.body)).toEqual(["and another"]);

    // unavailable: a new connection, and the same client id again
    again.frame({ type: "error", code: "unavailable", message: "commit timeout", client_id: ids[1] });
    await vi.waitFor(() => expect(FakeWS.all.length).toBe(3), { timeout: 3000 });
    const third = FakeWS.last();
    third.open();
    await vi.waitFor(() => expect(sends(third).map((f) => f.client_id)).toEqual([ids[1]]));
    expect(subscribes(third)).toContainEqual({ type: "subscribe", room: 1, after: 7 });
    third.frame({ type: "message", room: 1, seq: 9, id: "m9", client_id: ids[1], kind: "message", author: user, body: "and another", created_at: "2026-11-23T10:00:02Z" });
    expect(pending.value).toEqual([]);

    // a refusal for good: kept, failed, not sent again
    client.send(1, "x".repeat(10));
    const bad = sends(third).at(-1)!;
    third.frame({ type: "error", code: "too_large", message: "body too large", client_id: bad.client_id });
    expect(pending.value.map((e) => e.error)).toEqual(["body too large"]);
  });

  it("the user's stream keeps the room list: room, room_gone, profile", async () => {
    const { rooms } = await import("../src/state/rooms");
    const ws = FakeWS.last();
    ws.frame({ type: "room", room: { ...room, id: 2, name: "news", last_seq: 3 } });
    expect(rooms.value.get(2)?.name).toBe("news");
    expect(subscribes(ws)).toContainEqual({ type: "subscribe", room: 2, after: 3 });
    ws.frame({ type: "room", room: { ...room, id: 3, name: "public, not joined", member: false } });
    expect(rooms.value.has(3)).toBe(true);
    expect(subscribes(ws).some((f) => f.room === 3)).toBe(false);
    ws.frame({ type: "room_gone", room: 2 });
    expect(rooms.value.has(2)).toBe(false);
    ws.frame({ type: "profile", user: { id: "u1", name: "Alice", avatar_url: "/api/v1/avatars/a.png" } });
    expect(me.value).toMatchObject({ name: "Alice", avatar_url: "/api/v1/avatars/a.png" });
  });

  it("4001 ends the session", async () => {
    signedIn = false;
    FakeWS.last().close(4001);
    await vi.waitFor(() => expect(me.value).toBeNull());
  });
});
