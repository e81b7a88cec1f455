// The message list: roving tabindex, arrow keys, Enter and Escape, and the
// long press that shows a message's actions on a touch screen.

import "fake-indexeddb/auto";
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LONG_PRESS, MessageList, withDividers } from "../src/components/MessageList";
import { putRoom } from "../src/state/rooms";
import type { Message } from "../src/types";

const me = { id: "me", name: "me", avatar_url: "" };
const msg = (seq: number, author = "bob"): Message => ({
  room: 1,
  seq,
  id: `m${seq}`,
  kind: "message",
  author: { id: author, name: author },
  body: `body ${seq}`,
  created_at: "2026-11-23T10:00:00Z",
});

function setup(messages: Message[]) {
  putRoom({ id: 1, name: "r", private: false, created_by: "me", created_at: "", last_seq: 3, member: true });
  const div = document.createElement("div");
  document.body.append(div);
  act(() => {
    render(<MessageList id="messages" label="Messages" messages={messages} pending={[]} me={me} member moderator={false} names={[]} />, div);
  });
  const items = () => [...div.querySelectorAll<HTMLElement>(".message")];
  return { div, items };
}

function key(el: Element, k: string) {
  act(() => {
    el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
  });
}

afterEach(() => {
  document.body.innerHTML = "";
  vi.useRealTimers();
});

describe("MessageList", () => {
  it("is a log with one message in the Tab order, the newest", () => {
    const { div, items } = setup([msg(1), msg(2), msg(3, "me")]);
    expect(div.querySelector("#messages")!.getAttribute("role")).toBe("log");
    expect(items().map((m) => m.tabIndex)).toEqual([-1, -1, 0]);
    expect(items()[2]!.classList.contains("mine")).toBe(true);
    // controls inside are out of the Tab order
    for (const b of div.querySelectorAll<HTMLElement>(".message button, .message .act")) expect(b.tabIndex).toBe(-1);
  });

  it("moves with the arrow keys, Home and End; Enter goes in, Escape comes out", () => {
    const { items } = setup([msg(1), msg(2), msg(3)]);
    const [first, second, third] = items();
    act(() => third!.focus());
    key(third!, "ArrowUp");
    expect(document.activeElement).toBe(second);
    expect(items().map((m) => m.tabIndex)).toEqual([-1, 0, -1]);
    key(second!, "Home");
    expect(document.activeElement).toBe(first);
    key(first!, "ArrowUp");
    expect(document.activeElement).toBe(first);
    key(first!, "End");
    expect(document.activeElement).toBe(third);
    key(third!, "Enter");
    const inside = document.activeElement as HTMLElement;
    expect(third!.contains(inside) && inside !== third).toBe(true);
    expect(inside.dataset.action).toBe("reply");
    key(inside, "ArrowRight");
    expect((document.activeElement as HTMLElement).dataset.action).toBe("react");
    key(document.activeElement!, "Escape");
    expect(document.activeElement).toBe(third);
  });

  it("opens the actions menu as a sheet after a 500 ms touch, not a shorter one", () => {
    vi.useFakeTimers();
    const { items } = setup([msg(1), msg(2)]);
    const [first, second] = items();
    const touch = (el: Element, type: string) => el.dispatchEvent(new Event(type, { bubbles: true }));
    touch(first!.querySelector(".body")!, "touchstart");
    vi.advanceTimersByTime(LONG_PRESS - 100);
    touch(first!, "touchend");
    vi.advanceTimersByTime(1000);
    expect(document.querySelector(".actions-menu")).toBeNull();
    touch(second!.querySelector(".body")!, "touchstart");
    act(() => void vi.advanceTimersByTime(LONG_PRESS));
    expect(document.querySelector(".actions-menu.sheet")).not.toBeNull();
    expect(document.activeElement?.getAttribute("role")).toBe("menuitem");
  });
});

describe("dividers and groups", () => {
  const at = (seq: number, author: string, time: string, extra: Partial<Message> = {}) => ({
    key: `k${seq}`,
    m: { ...msg(seq, author), created_at: time, ...extra },
  });
  it("groups a person's messages within five minutes, not across a day or the new line", () => {
    const items = [
      at(1, "bob", "2026-11-23T10:00:00Z"),
      at(2, "bob", "2026-11-23T10:01:00Z"),
      at(3, "bob", "2026-11-23T10:09:00Z"), // too late
      at(4, "ann", "2026-11-23T10:09:30Z"),
      at(5, "ann", "2026-11-23T10:10:00Z", { edited_at: "2026-11-23T10:11:00Z" }), // edited: shows its mark
      at(6, "ann", "2026-11-23T10:10:30Z"),
    ];
    const rendered: string[] = [];
    withDividers(items, "me", 5, (i, grouped) => {
      rendered.push(`${i.m.seq}${grouped ? "g" : ""}`);
      return <span />;
    });
    expect(rendered).toEqual(["1", "2g", "3", "4", "5", "6"]);
    // the new line before 6 (the first after the marker 5) breaks the group
    const kinds = withDividers(items, "me", 5, () => <span />).map((v) => (v.props as { class?: string }).class?.replace("divider ", "") ?? "msg");
    expect(kinds).toEqual(["day-divider", "msg", "msg", "msg", "msg", "msg", "new-divider", "msg"]);
    expect(withDividers(items, "me", -1, () => <span />).some((v) => (v.props as { class?: string }).class === "divider new-divider")).toBe(false);
  });
  it("no new line before your own messages", () => {
    const kinds = withDividers([at(1, "me", "2026-11-23T10:00:00Z"), at(2, "bob", "2026-11-23T10:00:10Z")], "me", 0, () => <span />).map(
      (v) => (v.props as { class?: string }).class?.replace("divider ", "") ?? "msg",
    );
    expect(kinds).toEqual(["day-divider", "msg", "new-divider", "msg"]);
  });
});
