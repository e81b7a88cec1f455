import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { frameOf, Outbox, type OutboxEntry } from "../src/outbox";
import { newClientID } from "../src/ids";

const entry = (user: string, body: string, extra: Partial<OutboxEntry> = {}): OutboxEntry => ({
  client_id: newClientID(),
  user,
  room: 3,
  body,
  at: new Date().toISOString(),
  ...extra,
});

describe("outbox", () => {
  it("keeps entries across pages (a reload), in the order they were written, per user", async () => {
    const name = "t" + Math.random();
    const a = new Outbox(name);
    const first = entry("alice", "one");
    const second = entry("alice", "two", { thread: "root" });
    await a.put(first);
    await a.put(second);
    await a.put(entry("bob", "not alice's"));
    const b = new Outbox(name); // the page after a reload
    const loaded = await b.load("alice");
    expect(loaded.map((e) => e.body)).toEqual(["one", "two"]);
    expect(b.pending().map((e) => e.client_id)).toEqual([first.client_id, second.client_id]);
    await b.remove(first.client_id);
    const c = new Outbox(name);
    expect((await c.load("alice")).map((e) => e.body)).toEqual(["two"]);
    await c.clear("alice");
    expect(await new Outbox(name).load("alice")).toEqual([]);
    expect((await new Outbox(name).load("bob")).length).toBe(1);
  });
  it("refused entries are not pending", async () => {
    const o = new Outbox("t" + Math.random());
    await o.put(entry("alice", "bad", { error: "too large" }));
    await o.put(entry("alice", "good"));
    expect(o.pending().map((e) => e.body)).toEqual(["good"]);
  });
  it("makes the send frame, with the same client id every time", () => {
    const e = entry("alice", "hi", { thread: "r" });
    expect(frameOf(e)).toEqual({ type: "send", room: 3, client_id: e.client_id, body: "hi", thread: "r" });
    expect(frameOf(e)).toEqual(frameOf(e));
    const r = entry("alice", "", { kind: "react", target: "m1", emoji: "👍" });
    delete r.body;
    expect(frameOf(r)).toEqual({ type: "send", room: 3, client_id: r.client_id, kind: "react", target: "m1", emoji: "👍" });
  });
  it("client ids are unique and grow with time", () => {
    const ids = [newClientID(1000), newClientID(1000), newClientID(2000)];
    expect(new Set(ids).size).toBe(3);
    expect(ids[0]! < ids[2]!).toBe(true);
  });
});
