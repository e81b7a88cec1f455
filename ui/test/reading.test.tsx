// Reading: the windowed message list (bounded rendering, keys that reach
// messages not rendered, a permalink's target), in-app links, the tab's
// title and the day labels.

import "fake-indexeddb/auto";
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { inAppLink, MAX_RENDERED, MessageList, withDividers, type ListHandle } from "../src/components/MessageList";
import { dayLabel, lang } from "../src/i18n";
import { putRoom } from "../src/state/rooms";
import { goTo, target } from "../src/state/reading";
import { badgeText, tabTitle } from "../src/title";
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

function setup(messages: Message[], newAfter = -1) {
  putRoom({ id: 1, name: "r", private: false, created_by: "me", created_at: "", last_seq: messages.length, member: true });
  const scroller = document.createElement("div");
  scroller.className = "scroller";
  document.body.append(scroller);
  mounted.push(scroller);
  act(() => {
    render(
      <MessageList id="messages" label="Messages" messages={messages} pending={[]} me={me} member moderator={false} names={[]} newAfter={newAfter} />,
      scroller,
    );
  });
  const items = () => [...scroller.querySelectorAll<HTMLElement>(".message")];
  return { scroller, items };
}

function key(el: Element, k: string) {
  act(() => {
    el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
  });
}

const many = (n: number) => Array.from({ length: n }, (_, i) => msg(i + 1, i % 3 === 0 ? "ann" : "bob"));

const mounted: HTMLElement[] = [];
afterEach(() => {
  for (const el of mounted.splice(0)) act(() => render(null, el));
  document.body.innerHTML = "";
  target.value = null;
  lang.value = "en";
});

describe("the windowed list", { timeout: 30000 }, () => {
  it("renders a short list whole", () => {
    const { items } = setup(many(MAX_RENDERED));
    expect(items().length).toBe(MAX_RENDERED);
  });

  it("renders a bounded window of a long list, the newest at the end, one of them in the Tab order", () => {
    const { items } = setup(many(10000));
    const shown = items();
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThanOrEqual(MAX_RENDERED);
    expect(shown[shown.length - 1]!.dataset.seq).toBe("10000");
    expect(shown.filter((m) => m.tabIndex === 0).map((m) => m.dataset.seq)).toEqual(["10000"]);
  });

  it("reaches messages not rendered with Home, End and the arrows", () => {
    const { items } = setup(many(400));
    const last = items().at(-1)!;
    act(() => last.focus());
    key(last, "Home");
    let f = document.activeElement as HTMLElement;
    expect(f.dataset.seq).toBe("1");
    expect(items().length).toBeLessThanOrEqual(MAX_RENDERED);
    expect(f.tabIndex).toBe(0);
    key(f, "ArrowDown");
    f = document.activeElement as HTMLElement;
    expect(f.dataset.seq).toBe("2");
    key(f, "End");
    f = document.activeElement as HTMLElement;
    expect(f.dataset.seq).toBe("400");
    // Up from the first message rendered, to one that was not.
    const first = items()[0]!;
    expect(Number(first.dataset.seq)).toBeGreaterThan(1);
    act(() => first.focus());
    key(first, "ArrowUp");
    expect((document.activeElement as HTMLElement).dataset.seq).toBe(String(Number(first.dataset.seq) - 1));
    expect(items().length).toBeLessThanOrEqual(MAX_RENDERED);
  });

  it("moves to a permalink's message, focuses and marks it", () => {
    const { items } = setup(many(2000));
    act(() => goTo("messages", "m42"));
    const el = items().find((m) => m.dataset.id === "m42");
    expect(el).toBeTruthy();
    expect(el!.classList.contains("highlight")).toBe(true);
    expect(document.activeElement).toBe(el);
    expect(target.value).toBeNull();
    // a target for another list is left for it
    act(() => goTo("thread-messages", "m43"));
    expect(target.value?.id).toBe("m43");
  });

  it("leaves a reader further up where they are when new messages come; toBottom follows them again", () => {
    const handle: { current: ListHandle | null } = { current: null };
    const scroller = document.createElement("div");
    scroller.className = "scroller";
    document.body.append(scroller);
    mounted.push(scroller);
    const show = (list: Message[]) =>
      act(() => {
        render(
          <MessageList id="messages" label="Messages" messages={list} pending={[]} me={me} member moderator={false} names={[]} handle={handle} />,
          scroller,
        );
      });
    const ids = () => [...scroller.querySelectorAll<HTMLElement>(".message")].map((m) => m.dataset.id);
    show(many(300));
    act(() => void handle.current!.reveal("m10", { focus: true }));
    expect(ids()).toContain("m10");
    show(many(400));
    expect(ids()).toContain("m10");
    expect(ids()).not.toContain("m400");
    expect(ids().length).toBeLessThanOrEqual(MAX_RENDERED);
    act(() => handle.current!.toBottom());
    expect(ids().at(-1)).toBe("m400");
    show(many(450));
    expect(ids().at(-1)).toBe("m450");
    expect(ids().length).toBeLessThanOrEqual(MAX_RENDERED);
  });

  it("keeps the day and the group going across the window's edge", () => {
    const list = many(10);
    const out: string[] = [];
    const nodes = withDividers(
      list.slice(5).map((m) => ({ key: m.id!, m })),
      "me",
      -1,
      (i, grouped) => {
        out.push(`${i.m.seq}${grouped ? "g" : ""}`);
        return <span />;
      },
      { before: list[4]!, newKey: "m7" },
    );
    // no day line (the day goes on), the "new" line before m7 only
    const kinds = nodes.map((v) => (v.props as { class?: string }).class ?? "msg");
    expect(kinds).toEqual(["msg", "divider new-divider", "msg", "msg", "msg", "msg"]);
    expect(out).toEqual(["6g", "7", "8", "9g", "10"]);
  });
});

describe("links and titles", () => {
  it("takes a link to this client's routes in the app", () => {
    const a = document.createElement("a");
    a.href = location.origin + location.pathname + "#/rooms/3/messages/abc";
    expect(inAppLink(a)).toBe("#/rooms/3/messages/abc");
    a.href = "https://elsewhere.example/#/rooms/3";
    expect(inAppLink(a)).toBeNull();
    a.href = location.origin + location.pathname + "#nothing";
    expect(inAppLink(a)).toBeNull();
  });

  it("puts the count first in the title", () => {
    expect(tabTitle(0)).toBe("Hanashi");
    expect(tabTitle(3)).toBe("(3) Hanashi");
    expect(tabTitle(120)).toBe("(99+) Hanashi");
    expect(badgeText(7)).toBe("7");
  });

  it("names the days: today, yesterday, then dates in the language", () => {
    const now = new Date(2026, 10, 23, 12);
    expect(dayLabel(new Date(2026, 10, 23, 1), now)).toBe("Today");
    expect(dayLabel(new Date(2026, 10, 22, 23), now)).toBe("Yesterday");
    expect(dayLabel(new Date(2026, 10, 20, 9), now)).toMatch(/Nov|20/);
    lang.value = "ja";
    expect(dayLabel(new Date(2026, 10, 23, 1), now)).toBe("今日");
    expect(dayLabel(new Date(2026, 10, 22, 1), now)).toBe("昨日");
    expect(dayLabel(new Date(2026, 10, 20, 9), now)).toMatch(/11月20日|11\/20/);
  });
});
