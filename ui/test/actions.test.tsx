// The actions menu (menu button pattern: keys, focus, the rules for what
// it offers), copying a link, and the read marker moved back by "mark
// unread".

import "fake-indexeddb/auto";
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { copyText, isMenuKey, menuItems, openActionsMenu } from "../src/components/Actions";
import { MessageList } from "../src/components/MessageList";
import { lowerTo, newFeed, takeSnapshot } from "../src/state/feed";
import { putRoom } from "../src/state/rooms";
import { announcement } from "../src/state/view";
import type { Message } from "../src/types";

const me = { id: "me", name: "me", avatar_url: "" };
const msg = (seq: number, author = "bob", extra: Partial<Message> = {}): Message => ({
  room: 1,
  seq,
  id: `m${seq}`,
  kind: "message",
  author: { id: author, name: author },
  body: `body ${seq}`,
  created_at: "2026-11-23T10:00:00Z",
  ...extra,
});

function setup(messages: Message[], opts: { member?: boolean; moderator?: boolean } = {}) {
  putRoom({ id: 1, name: "r", private: false, created_by: "me", created_at: "", last_seq: 3, member: true });
  const div = document.createElement("div");
  document.body.append(div);
  act(() => {
    render(
      <MessageList
        id="messages"
        label="Messages"
        messages={messages}
        pending={[]}
        me={me}
        member={opts.member ?? true}
        moderator={opts.moderator ?? false}
        names={[]}
      />,
      div,
    );
  });
  const items = () => [...div.querySelectorAll<HTMLElement>(".message")];
  return { div, items };
}

function key(el: Element, k: string, init: KeyboardEventInit = {}) {
  act(() => {
    el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...init }));
  });
}

const menu = () => document.querySelector<HTMLElement>('[role="menu"]');
const focusedAction = () => (document.activeElement as HTMLElement | null)?.dataset.action;

afterEach(() => {
  document.body.innerHTML = "";
  vi.useRealTimers();
});

describe("menuItems", () => {
  const base = { me: "me", member: true, moderator: false, inThread: false };
  const actions = (m: Message, p: Partial<typeof base> = {}) => menuItems({ ...base, ...p, m }).map((i) => i.action);

  it("offers edit and delete on your own messages only", () => {
    expect(actions(msg(1, "me"))).toEqual(["reply", "react", "copy-link", "edit", "delete", "mark-unread"]);
    expect(actions(msg(1, "bob"))).toEqual(["reply", "react", "copy-link", "mark-unread"]);
  });

  it("lets a moderator delete, not edit, others' messages", () => {
    expect(actions(msg(1, "bob"), { moderator: true })).toEqual(["reply", "react", "copy-link", "delete", "mark-unread"]);
  });

  it("offers no reply or mark unread on a reply, no reply inside a thread", () => {
    expect(actions(msg(2, "bob", { thread: "m1" }), { inThread: true })).toEqual(["react", "copy-link"]);
    // the root above a thread's replies: top-level, so it may be marked unread
    expect(actions(msg(1, "bob"), { inThread: true })).toEqual(["react", "copy-link", "mark-unread"]);
  });

  it("gives a non-member only the link", () => {
    expect(actions(msg(1, "bob"), { member: false })).toEqual(["copy-link"]);
  });

  it("makes the reply a link to the thread", () => {
    expect(menuItems({ ...base, m: msg(1) })[0]!.href).toBe("#/rooms/1/threads/m1");
  });
});

describe("the actions menu", () => {
  it("opens from a focused message with . and Shift+F10, and Escape returns focus to it", () => {
    const { items } = setup([msg(1), msg(2, "me")]);
    const second = items()[1]!;
    act(() => second.focus());
    key(second, ".");
    expect(menu()).not.toBeNull();
    expect(menu()!.getAttribute("aria-label")).toBe("Message actions");
    expect(focusedAction()).toBe("reply");
    const more = second.querySelector<HTMLElement>('[data-action="more"]')!;
    expect(more.getAttribute("aria-haspopup")).toBe("menu");
    expect(more.getAttribute("aria-expanded")).toBe("true");
    expect(more.getAttribute("aria-controls")).toBe(menu()!.id);
    key(document.activeElement!, "Escape");
    expect(menu()).toBeNull();
    expect(document.activeElement).toBe(second);
    expect(more.getAttribute("aria-expanded")).toBe("false");

    key(second, "F10", { shiftKey: true });
    expect(menu()).not.toBeNull();
    key(document.activeElement!, "Escape");
    expect(isMenuKey(new KeyboardEvent("keydown", { key: "ContextMenu" }))).toBe(true);
    expect(isMenuKey(new KeyboardEvent("keydown", { key: ".", ctrlKey: true }))).toBe(false);
  });

  it("moves with the arrow keys (wrapping), Home, End and type-ahead", () => {
    const { items } = setup([msg(1, "me")]);
    const li = items()[0]!;
    act(() => li.focus());
    key(li, ".");
    const order = [...menu()!.querySelectorAll<HTMLElement>('[role="menuitem"]')].map((e) => e.dataset.action);
    expect(order).toEqual(["reply", "react", "copy-link", "edit", "delete", "mark-unread"]);
    for (const e of menu()!.querySelectorAll<HTMLElement>('[role="menuitem"]')) expect(e.tabIndex).toBe(-1);
    key(document.activeElement!, "ArrowUp");
    expect(focusedAction()).toBe("mark-unread");
    key(document.activeElement!, "ArrowDown");
    expect(focusedAction()).toBe("reply");
    key(document.activeElement!, "End");
    expect(focusedAction()).toBe("mark-unread");
    key(document.activeElement!, "Home");
    expect(focusedAction()).toBe("reply");
    key(document.activeElement!, "e");
    expect(focusedAction()).toBe("edit");
    key(document.activeElement!, "d");
    expect(focusedAction()).toBe("delete");
    // Tab leaves the menu: closed, focus back on the message
    key(document.activeElement!, "Tab");
    expect(menu()).toBeNull();
    expect(document.activeElement).toBe(li);
  });

  it("opens from the More button with ArrowUp on the last item, and gives it focus back", () => {
    const { items } = setup([msg(1)]);
    const more = items()[0]!.querySelector<HTMLElement>('[data-action="more"]')!;
    act(() => more.focus());
    key(more, "ArrowUp");
    expect(focusedAction()).toBe("mark-unread");
    key(document.activeElement!, "Escape");
    expect(document.activeElement).toBe(more);
    act(() => more.click());
    expect(menu()).not.toBeNull();
    act(() => more.click());
    expect(menu()).toBeNull();
  });

  it("asks twice before deleting", () => {
    const { items } = setup([msg(1, "me")]);
    const li = items()[0]!;
    act(() => li.focus());
    key(li, ".");
    const del = () => menu()!.querySelector<HTMLElement>('[data-action="delete"]')!;
    expect(del().dataset.armed).toBe("false");
    act(() => del().click());
    expect(menu()).not.toBeNull();
    expect(del().dataset.armed).toBe("true");
    expect(announcement.value).toContain("again");
    // closing disarms it
    key(del(), "Escape");
    key(li, ".");
    expect(del().dataset.armed).toBe("false");
  });

  it("closes on a click outside", () => {
    const { items } = setup([msg(1)]);
    const li = items()[0]!;
    act(() => li.focus());
    key(li, ".");
    act(() => {
      document.body.dispatchEvent(new Event("pointerdown", { bubbles: true }));
    });
    expect(menu()).toBeNull();
  });

  it("opens as a sheet for a long press; a message without actions says so", () => {
    const { items } = setup([msg(1), msg(2, "bob", { deleted: true })]);
    let opened = false;
    act(() => {
      opened = openActionsMenu(items()[0]!);
    });
    expect(opened).toBe(true);
    expect(menu()!.classList.contains("sheet")).toBe(true);
    expect(document.querySelector(".actions-backdrop")).not.toBeNull();
    expect(openActionsMenu(items()[1]!)).toBe(false);
  });
});

describe("copyText", () => {
  it("uses the Clipboard API, and the old way when it is refused", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    expect(await copyText("https://x/#/rooms/1/messages/m1")).toBe(true);
    expect(writeText).toHaveBeenCalledWith("https://x/#/rooms/1/messages/m1");

    writeText.mockRejectedValue(new DOMException("denied", "NotAllowedError"));
    const exec = vi.fn().mockReturnValue(true);
    Object.defineProperty(document, "execCommand", { value: exec, configurable: true });
    expect(await copyText("link")).toBe(true);
    expect(exec).toHaveBeenCalledWith("copy");
    expect(document.querySelector("textarea")).toBeNull(); // cleaned up
    exec.mockReturnValue(false);
    expect(await copyText("link")).toBe(false);
  });
});

describe("lowerTo", () => {
  it("moves the marker back and counts again from the loaded messages", () => {
    const f = newFeed(1, 6, 6);
    const known = [
      msg(2),
      msg(3, "me"),
      msg(4, "bob", { mentions: ["me"] }),
      msg(5, "bob", { deleted: true }),
      msg(6, "bob", { kind: "room" }),
    ];
    lowerTo(f, 2, known, "me");
    expect(f).toMatchObject({ lastRead: 2, unread: 2, mentions: 1 });
    // the server's count, with the same marker, replaces the guess
    expect(takeSnapshot(f, { room: 1, last_read: 2, last_seq: 6, unread: 2, mentions: 2 })).toBe(true);
    expect(f.mentions).toBe(2);
  });
});
