// @vitest-environment-options {"url": "http://localhost:8080/"}
//
// People: local times in other zones, who may be messaged, and the
// browser's time zone stored in the profile after sign-in.

import "fake-indexeddb/auto";
import { afterAll, describe, expect, it, vi } from "vitest";
import { browserTimeZone, canMessage, localTime } from "../src/people";

describe("localTime", () => {
  const at = new Date("2026-12-05T14:05:00Z"); // a Saturday

  it("is the time of day in the person's zone", () => {
    expect(localTime("Asia/Tokyo", at, "en-GB", "Asia/Tokyo")).toEqual({ time: "23:05", day: "" });
    expect(localTime("UTC", at, "en-GB", "UTC")?.time).toBe("14:05");
  });

  it("names their weekday when their date is not the viewer's", () => {
    // 14:05 UTC on Saturday is 01:05 on Sunday in Auckland (summer time).
    const t = localTime("Pacific/Auckland", at, "en-GB", "Europe/London");
    expect(t?.time).toBe("03:05");
    expect(t?.day).toBe("Sun");
    expect(localTime("America/Los_Angeles", at, "en-GB", "Europe/London")).toEqual({ time: "06:05", day: "" });
  });

  it("speaks the viewer's language", () => {
    expect(localTime("Pacific/Auckland", at, "ja", "Europe/London")).toEqual({ time: "03:05", day: "日" });
  });

  it("is null for no zone or one the browser does not know", () => {
    expect(localTime("", at, "en")).toBeNull();
    expect(localTime(undefined, at, "en")).toBeNull();
    expect(localTime("Mars/Olympus_Mons", at, "en")).toBeNull();
  });
});

describe("canMessage", () => {
  const alice = { id: "a", guest: false };
  it("offers a conversation between two signed-in people", () => {
    expect(canMessage(alice, { id: "b", guest: false })).toBe(true);
  });
  it("not with oneself, a guest, a disabled user, nor as a guest or signed out", () => {
    expect(canMessage(alice, { id: "a", guest: false })).toBe(false);
    expect(canMessage(alice, { id: "g", guest: true })).toBe(false);
    expect(canMessage(alice, { id: "d", guest: false, disabled: true })).toBe(false);
    expect(canMessage({ id: "g", guest: true }, { id: "b", guest: false })).toBe(false);
    expect(canMessage(null, { id: "b", guest: false })).toBe(false);
  });
});

describe("syncTimeZone", () => {
  const calls: { method: string; path: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const path = String(input).replace(/^.*api\/v1\//, "");
      const body = init?.body ? JSON.parse(String(init.body)) : undefined;
      calls.push({ method: init?.method ?? "GET", path, body });
      const user = { id: "u1", name: "alice", avatar_url: "", time_zone: body?.time_zone ?? "" };
      return new Response(JSON.stringify({ user }), { status: 200, headers: { "Content-Type": "application/json" } });
    }),
  );
  afterAll(() => vi.unstubAllGlobals());

  it("stores the browser's zone when the profile has another, and only then", async () => {
    const { syncTimeZone } = await import("../src/client/session");
    const { me } = await import("../src/state/session");
    const zone = browserTimeZone();
    expect(zone).not.toBe("");

    me.value = { id: "u1", name: "alice", avatar_url: "", time_zone: "Antarctica/Troll" };
    await syncTimeZone(me.value);
    expect(calls).toEqual([{ method: "PATCH", path: "me", body: { time_zone: zone } }]);
    expect(me.value.time_zone).toBe(zone);

    await syncTimeZone(me.value);
    expect(calls).toHaveLength(1);
  });
});
