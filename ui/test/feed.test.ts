import { describe, expect, it } from "vitest";
import { arrive, count, newFeed, readUpTo, subscribeFrom, takeSnapshot } from "../src/state/feed";
import type { Message } from "../src/types";

const msg = (seq: number, author = "bob", extra: Partial<Message> = {}): Message => ({
  room: 1,
  seq,
  kind: "message",
  author: { id: author, name: author },
  body: "x",
  created_at: "2026-11-23T10:00:00Z",
  ...extra,
});

describe("cursor and resume", () => {
  it("resumes after the highest seq received", () => {
    const f = newFeed(1, 40);
    expect(subscribeFrom(f)).toBe(40);
    expect(arrive(f, 41)).toBe("next");
    expect(arrive(f, 42)).toBe("next");
    expect(subscribeFrom(f)).toBe(42);
  });
  it("drops duplicates and reports gaps", () => {
    const f = newFeed(1, 10);
    expect(arrive(f, 10)).toBe("duplicate");
    expect(arrive(f, 9)).toBe("duplicate");
    expect(f.cursor).toBe(10);
    expect(arrive(f, 13)).toBe("gap");
    expect(f.cursor).toBe(13);
  });
});

describe("unread counting", () => {
  it("counts top-level messages and room links by others, and mentions", () => {
    const f = newFeed(1, 0);
    expect(count(f, msg(1), "me")).toBe(true);
    expect(count(f, msg(2, "me"), "me")).toBe(false); // mine
    expect(count(f, msg(3, "bob", { thread: "r" }), "me")).toBe(false); // a reply is not unread
    expect(count(f, msg(4, "bob", { thread: "r", mentions: ["me"] }), "me")).toBe(true); // but a mention
    expect(count(f, msg(5, "bob", { kind: "room", child: 9 }), "me")).toBe(true);
    expect(count(f, msg(6, "bob", { kind: "edit", target: "x" }), "me")).toBe(false);
    expect(count(f, msg(7, "bob", { mentions_room: true }), "me")).toBe(true);
    expect(f.unread).toBe(3);
    expect(f.mentions).toBe(2);
    // the same event twice counts once
    expect(count(f, msg(7, "bob", { mentions_room: true }), "me")).toBe(false);
    expect(f.unread).toBe(3);
  });
  it("does not count what is read", () => {
    const f = newFeed(1, 0, 5);
    expect(count(f, msg(3), "me")).toBe(false);
    expect(f.unread).toBe(0);
  });
  it("a read marker clears, or asks the server when it is behind the count", () => {
    const f = newFeed(1, 0);
    count(f, msg(1), "me");
    count(f, msg(2), "me");
    expect(readUpTo(f, 1)).toBe("partial");
    expect(readUpTo(f, 1)).toBe("none");
    expect(readUpTo(f, 2)).toBe("clear");
    expect(f.unread).toBe(0);
  });
  it("takes the server's snapshot unless the stream is newer", () => {
    const f = newFeed(1, 10, 8);
    takeSnapshot(f, { room: 1, last_read: 8, last_seq: 12, unread: 4, mentions: 1 });
    expect([f.unread, f.mentions, f.lastRead, f.counted]).toEqual([4, 1, 8, 12]);
    // an older snapshot (the stream counted up to 14) is not taken
    count(f, msg(13), "me");
    count(f, msg(14), "me");
    takeSnapshot(f, { room: 1, last_read: 8, last_seq: 12, unread: 4, mentions: 1 });
    expect(f.unread).toBe(6);
    // read here after the server counted: nothing is unread
    readUpTo(f, 14);
    takeSnapshot(f, { room: 1, last_read: 8, last_seq: 14, unread: 6, mentions: 1 });
    expect(f.unread).toBe(0);
  });
});
