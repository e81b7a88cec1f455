// The sidebar follows the counts live: a room entry re-renders when its
// feed's counts change (the feeds are not signals; `counts` is).

import "fake-indexeddb/auto";
import { render } from "preact";
import { act } from "preact/test-utils";
import { describe, expect, it } from "vitest";
import { Sidebar } from "../src/components/Sidebar";
import { count } from "../src/state/feed";
import { bumpCounts, ensureFeed } from "../src/state/feeds";
import { putRoom } from "../src/state/rooms";
import { me } from "../src/state/session";
import type { Room } from "../src/types";

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

describe("Sidebar", () => {
  it("shows unread and mention badges as the stream counts them", () => {
    act(() => {
      me.value = { id: "me", name: "me", avatar_url: "" };
      putRoom(room(1, "team"));
      putRoom(room(2, "design", { parent: 1 }));
      putRoom(room(3, "dm", { kind: "direct", private: true }));
    });
    const feed = ensureFeed(1, 0);
    const div = document.createElement("div");
    document.body.append(div);
    act(() => render(<Sidebar open={false} onClose={() => {}} />, div));
    const entry = () => div.querySelector<HTMLAnchorElement>('#rooms a.room[data-room-id="1"]')!;
    expect(entry().querySelector(".unread")).toBeNull();
    expect([...div.querySelectorAll<HTMLAnchorElement>("#rooms a.room")].map((a) => a.dataset.roomId)).toEqual(["1", "2"]);
    expect(div.querySelector('#rooms a.room[data-room-id="2"]')!.classList.contains("child")).toBe(true);
    expect(div.querySelector('#directs a.room[data-room-id="3"]')).not.toBeNull();

    const ev = { room: 1, kind: "message" as const, author: { id: "bob", name: "bob" }, body: "hey @me", created_at: "", mentions: ["me"] };
    act(() => {
      if (count(feed, { ...ev, seq: 1 }, "me")) bumpCounts();
      if (count(feed, { ...ev, seq: 2, mentions: [] }, "me")) bumpCounts();
    });
    expect(entry().querySelector(".unread")?.textContent).toBe("2");
    expect(entry().querySelector(".mentions")?.textContent).toBe("@1");
    expect(entry().getAttribute("href")).toBe("#/rooms/1");
  });
});
