import { describe, expect, it } from "vitest";
import { applyToRoom, applyToThread, change, MessageList, timeKey } from "../src/state/fold";
import type { Message } from "../src/types";

let n = 0;
const ev = (seq: number, extra: Partial<Message> = {}): Message => ({
  room: 1,
  seq,
  id: `m${seq}`,
  kind: "message",
  author: { id: "bob", name: "bob" },
  body: `body ${seq}`,
  created_at: `2026-11-23T10:00:${String(seq).padStart(2, "0")}.${++n}Z`,
  ...extra,
});

describe("folding events into a room", () => {
  it("adds messages once, counts replies on the root, applies changes", () => {
    const list = new MessageList();
    list.loaded = true;
    expect(applyToRoom(list, ev(1), "me")).toBe(true);
    expect(applyToRoom(list, ev(1), "me")).toBe(false);
    expect(applyToRoom(list, ev(2, { thread: "m1" }), "me")).toBe(true);
    expect(list.byId.get("m1")!.replies).toBe(1);
    const reply = ev(3, { thread: "m1" });
    applyToRoom(list, reply, "me");
    applyToRoom(list, reply, "me"); // twice: counted once
    expect(list.byId.get("m1")!.replies).toBe(2);
    expect(list.bySeq.size).toBe(1);

    applyToRoom(list, ev(4, { kind: "edit", target: "m1", body: "new" }), "me");
    expect(list.byId.get("m1")!.body).toBe("new");
    expect(list.byId.get("m1")!.edited_at).toBeTruthy();

    applyToRoom(list, ev(5, { kind: "react", target: "m1", emoji: "👍", author: { id: "me", name: "me" } }), "me");
    applyToRoom(list, ev(6, { kind: "react", target: "m1", emoji: "👍" }), "me");
    expect(applyToRoom(list, ev(6, { kind: "react", target: "m1", emoji: "👍" }), "me")).toBe(false);
    expect(list.byId.get("m1")!.reactions).toEqual([{ emoji: "👍", count: 2, users: ["me", "bob"], mine: true }]);
    applyToRoom(list, ev(7, { kind: "unreact", target: "m1", emoji: "👍", author: { id: "me", name: "me" } }), "me");
    expect(list.byId.get("m1")!.reactions).toEqual([{ emoji: "👍", count: 1, users: ["bob"], mine: false }]);

    applyToRoom(list, ev(8, { kind: "delete", target: "m1" }), "me");
    const dead = list.byId.get("m1")!;
    expect([dead.deleted, dead.body, dead.reactions]).toEqual([true, "", []]);
    expect(applyToRoom(list, ev(9, { kind: "edit", target: "m1", body: "again" }), "me")).toBe(false);
    expect(list.bySeq.get(1)).toBe(dead);
  });
  it("ignores events the history already has", () => {
    const list = new MessageList();
    list.base = 5;
    expect(applyToRoom(list, ev(5), "me")).toBe(false);
    expect(applyToRoom(list, ev(6), "me")).toBe(true);
  });
  it("replaces a provisional message (from an ack) by the stream's", () => {
    const list = new MessageList();
    list.put({ ...ev(1), provisional: true });
    expect(applyToRoom(list, ev(1), "me")).toBe(true);
    expect(list.bySeq.get(1)!.provisional).toBeUndefined();
  });
  it("never changes a message in place", () => {
    const m = ev(1);
    const copy = JSON.stringify(m);
    change(m, ev(2, { kind: "react", target: "m1", emoji: "🎉" }), "me");
    change(m, ev(3, { kind: "delete", target: "m1" }), "me");
    expect(JSON.stringify(m)).toBe(copy);
  });
  it("keeps messages by seq", () => {
    const list = new MessageList();
    for (const s of [5, 2, 9]) list.put(ev(s));
    expect(list.sorted().map((m) => m.seq)).toEqual([2, 5, 9]);
    expect(list.oldest).toBe(2);
    expect(list.newest()).toBe(9);
  });
});

describe("folding events into a thread", () => {
  it("adds replies of its root only, and changes the root", () => {
    const list = new MessageList();
    list.loaded = true;
    const root = ev(1);
    expect(applyToThread(list, root, "m1", ev(2, { thread: "m1" }), "me").replies).toBe(true);
    expect(applyToThread(list, root, "m1", ev(3, { thread: "other" }), "me").replies).toBe(false);
    expect(applyToThread(list, root, "m1", ev(4), "me").replies).toBe(false);
    const edited = applyToThread(list, root, "m1", ev(5, { kind: "edit", target: "m1", body: "e" }), "me");
    expect(edited.root!.body).toBe("e");
    applyToThread(list, root, "m1", ev(6, { kind: "delete", target: "m2" }), "me");
    expect(list.byId.get("m2")!.deleted).toBe(true);
  });
});

describe("timeKey", () => {
  it("orders fractions of seconds of any length", () => {
    expect(timeKey("2026-01-01T00:00:05.1Z") > timeKey("2026-01-01T00:00:05.09Z")).toBe(true);
    expect(timeKey("2026-01-01T00:00:05Z") < timeKey("2026-01-01T00:00:05.001Z")).toBe(true);
  });
});
