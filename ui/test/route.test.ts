import { describe, expect, it } from "vitest";
import { messageHash, parseRoute, roomHash } from "../src/route";
import { tree, title } from "../src/state/rooms";
import { backoffDelay, BACKOFF_MAX, BACKOFF_MIN } from "../src/socket";
import type { Room } from "../src/types";

describe("routes", () => {
  it("round-trips rooms, threads and permalinks", () => {
    const none = { room: null, thread: null, message: null };
    expect(parseRoute(roomHash(3))).toEqual({ room: 3, thread: null, message: null });
    expect(parseRoute(roomHash(3, "a/b c"))).toEqual({ room: 3, thread: "a/b c", message: null });
    expect(parseRoute(messageHash(3, "m/1"))).toEqual({ room: 3, thread: null, message: "m/1" });
    expect(parseRoute(messageHash(3, "r 2", "root"))).toEqual({ room: 3, thread: "root", message: "r 2" });
    expect(parseRoute("")).toEqual(none);
    expect(parseRoute("#room=7")).toEqual({ room: 7, thread: null, message: null });
    expect(parseRoute("#/rooms/x")).toEqual(none);
    expect(parseRoute("#/rooms/3/messages/")).toEqual(none);
  });
});

const room = (id: number, name: string, extra: Partial<Room> = {}): Room => ({
  id,
  name,
  private: false,
  created_by: "u",
  created_at: "",
  last_seq: 0,
  member: true,
  ...extra,
});

describe("the sidebar's order", () => {
  it("nests rooms under their parent, by name; direct rooms apart", () => {
    const t = tree([room(1, "b"), room(2, "a"), room(3, "c", { parent: 1 }), room(4, "dm", { kind: "direct" }), room(5, "z", { parent: 3 }), room(6, "orphan", { parent: 99 })]);
    expect(t.rooms.map((i) => `${i.room.name}:${i.depth}`)).toEqual(["a:0", "b:0", "c:1", "z:2", "orphan:0"]);
    expect(t.directs.map((r) => r.id)).toEqual([4]);
  });
  it("names a direct room after the others", () => {
    const dm = room(4, "x", { kind: "direct" });
    expect(title(dm, [{ id: "me", name: "me" }, { id: "b", name: "bob" }], "me")).toBe("bob");
    expect(title(dm, undefined, "me")).toBe("x");
  });
});

describe("backoff", () => {
  it("doubles up to the ceiling, in the upper half", () => {
    expect(backoffDelay(0, () => 0)).toBe(BACKOFF_MIN / 2);
    expect(backoffDelay(0, () => 1)).toBe(BACKOFF_MIN);
    expect(backoffDelay(3, () => 1)).toBe(BACKOFF_MIN * 8);
    expect(backoffDelay(50, () => 1)).toBe(BACKOFF_MAX);
  });
});
