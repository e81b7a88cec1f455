// Writing: the autocomplete's triggers, ranking and insertion
// (src/complete.ts), drafts (src/drafts.ts), #room links (src/markdown.ts)
// and the composer's combobox with the keyboard.

import "fake-indexeddb/auto";
import { render as mount } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { accept, insertion, people, rank, rooms, trigger, type Entry } from "../src/complete";
import { Composer } from "../src/components/Composer";
import { Drafts, type DraftStorage } from "../src/drafts";
import { render } from "../src/markdown";
import { members, putRoom, rooms as roomList, setMembers } from "../src/state/rooms";
import { me } from "../src/state/session";
import { current } from "../src/state/view";

describe("trigger", () => {
  const at = (s: string) => trigger(s.replace("|", ""), s.indexOf("|"));
  it("finds @, # and : at the caret", () => {
    expect(at("@|")).toEqual({ kind: "@", start: 0, query: "" });
    expect(at("hi @bo|")).toEqual({ kind: "@", start: 3, query: "bo" });
    expect(at("hi @bo| there")).toEqual({ kind: "@", start: 3, query: "bo" });
    expect(at("(@Ann L|")).toEqual({ kind: "@", start: 1, query: "Ann L" });
    expect(at("see #gen|")).toEqual({ kind: "#", start: 4, query: "gen" });
    expect(at("yay :ta|")).toEqual({ kind: ":", start: 4, query: "ta" });
    expect(at(":+1|")).toEqual({ kind: ":", start: 0, query: "+1" });
  });
  it("is not fooled by addresses, times, line breaks and sentences", () => {
    expect(at("mail bob@exa|")).toBeNull();
    expect(at("issue#1|")).toBeNull();
    expect(at("at 12:30|")).toBeNull();
    expect(at(":t|")).toBeNull(); // one character is not enough for emoji
    expect(at("so: yes|")).toBeNull();
    expect(at("@ bob|")).toBeNull();
    expect(at("@bob\nand|")).toBeNull();
    expect(at("@bob said this and that|")).toBeNull();
    expect(at("|@bob")).toBeNull();
  });
  it("takes the full-width forms Japanese input methods type", () => {
    expect(at("こんにちは　＠ボ|")).toEqual({ kind: "@", start: 6, query: "ボ" });
    expect(at("＃ざつ|")).toEqual({ kind: "#", start: 0, query: "ざつ" });
    expect(at("日本語@ボ|")).toBeNull(); // after a letter, as the server reads it
  });
  it("reads the character before across a surrogate pair", () => {
    expect(at("😀@al|")).toEqual({ kind: "@", start: 2, query: "al" });
  });
});

describe("rank", () => {
  it("prefers the name's start to a later word's, case-insensitively", () => {
    expect(rank("Bob", "bo")).toBe(0);
    expect(rank("Ann Lee", "LE")).toBe(1);
    expect(rank("Ann Lee", "ann l")).toBe(0);
    expect(rank("J. Doe", "doe")).toBe(1);
    expect(rank("Bobby", "ob")).toBe(-1);
    expect(rank("anyone", "")).toBe(0);
  });
});

describe("people", () => {
  const m = [
    { id: "1", name: "Bob" },
    { id: "2", name: "Bea" },
    { id: "3", name: "Ann Bell" },
    { id: "me", name: "Bjorn" },
  ];
  const state = (id: string): "online" | "offline" => (id === "2" ? "online" : "offline");
  const names = (es: Entry[]) => es.map((e) => (e.kind === "person" ? e.name : e.kind));
  it("lists members (start, then presence, then name), @room, then others; never me", () => {
    const got = people({ query: "b", members: m, others: [{ id: "9", name: "Bert" }, { id: "1", name: "Bob" }], me: "me", presence: state, everyone: true });
    expect(names(got)).toEqual(["Bea", "Bob", "Ann Bell", "Bert"]);
    expect(got[0]).toMatchObject({ member: true, presence: "online" });
    expect(got[3]).toMatchObject({ member: false });
    expect(names(people({ query: "", members: m, me: "me", everyone: true }))).toEqual(["Ann Bell", "Bea", "Bob", "everyone"]);
    expect(names(people({ query: "ro", members: m, everyone: true }))).toEqual(["everyone"]);
    expect(names(people({ query: "ro", members: m, everyone: false }))).toEqual([]);
  });
  it("shows at most eight", () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ id: String(i), name: `Zed ${String(i).padStart(2, "0")}` }));
    expect(people({ query: "z", members: many })).toHaveLength(8);
  });
});

describe("rooms", () => {
  it("lists the rooms one can see by name, joined first, never direct ones", () => {
    const list = [
      { id: 1, name: "general", private: false, member: false },
      { id: 2, name: "gardening", private: true, member: true },
      { id: 3, name: "Bob, Me", private: true, member: true, kind: "direct" },
      { id: 4, name: "big garden", private: false, member: true },
    ];
    const got = rooms(list, "ga");
    expect(got.map((e) => (e.kind === "room" ? e.id : 0))).toEqual([2, 4]);
    expect(rooms(list, "").map((e) => (e.kind === "room" ? e.name : ""))).toEqual(["big garden", "gardening", "general"]);
    expect(rooms(list, "bob")).toEqual([]);
  });
});

describe("accept", () => {
  it("replaces the trigger and query, adds a space unless one follows", () => {
    const e: Entry = { kind: "person", id: "1", name: "Ann Lee", member: true };
    const tr = trigger("hi @an", 6)!;
    expect(accept("hi @an", tr, 6, insertion(e))).toMatchObject({ value: "hi @Ann Lee ", caret: 12 });
    const tr2 = trigger("hi @an there", 6)!;
    expect(accept("hi @an there", tr2, 6, insertion(e))).toMatchObject({ value: "hi @Ann Lee there", caret: 12 });
    const emoji: Entry = { kind: "emoji", unicode: "🎉", label: "party popper", shortcode: "tada" };
    expect(accept("yay :tad", trigger("yay :tad", 8)!, 8, insertion(emoji)).value).toBe("yay 🎉 ");
    expect(insertion({ kind: "room", id: 1, name: "big garden", private: false, member: true })).toBe("#big garden");
    expect(insertion({ kind: "everyone" })).toBe("@room");
    expect(accept("＠ボ", trigger("＠ボ", 2)!, 2, "@Bob").value).toBe("@Bob ");
  });
});

class MemoryStorage implements DraftStorage {
  readonly map = new Map<string, string>();
  writes = 0;
  get length() {
    return this.map.size;
  }
  key(i: number) {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.writes++;
    this.map.set(k, v);
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
}

describe("Drafts", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  it("keeps a draft per user and room, writes after a pause, forgets it when sent", () => {
    const s = new MemoryStorage();
    const d = new Drafts(s, 500);
    d.set("u1", "room:1", "h");
    d.set("u1", "room:1", "he");
    d.set("u1", "room:1", "hello");
    expect(d.get("u1", "room:1")).toBe("hello");
    expect(s.writes).toBe(0);
    vi.advanceTimersByTime(500);
    expect(s.writes).toBe(1);
    // a new page reads it back
    const again = new Drafts(s);
    expect(again.get("u1", "room:1")).toBe("hello");
    expect(again.get("u2", "room:1")).toBe("");
    expect(again.get("u1", "room:2")).toBe("");
    again.remove("u1", "room:1");
    expect(new Drafts(s).get("u1", "room:1")).toBe("");
  });
  it("an emptied draft is removed, not kept as white space", () => {
    const s = new MemoryStorage();
    const d = new Drafts(s, 500);
    d.set("u1", "thread:1:abc", "x");
    d.flush();
    d.set("u1", "thread:1:abc", "  ");
    d.flush();
    expect(s.map.size).toBe(0);
  });
  it("signing out clears the user's drafts only", () => {
    const s = new MemoryStorage();
    const d = new Drafts(s, 500);
    d.set("u1", "room:1", "mine");
    d.set("u1", "thread:1:r", "mine too");
    d.set("u2", "room:1", "theirs");
    d.flush();
    s.setItem("hanashi.lang", "ja");
    d.set("u1", "room:2", "not yet written");
    d.clear("u1");
    vi.advanceTimersByTime(1000);
    expect([...s.map.keys()].sort()).toEqual(["hanashi.draft.u2.room:1", "hanashi.lang"]);
    expect(d.get("u1", "room:2")).toBe("");
  });
  it("survives a storage that throws", () => {
    const bad: DraftStorage = {
      length: 0,
      key: () => null,
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("full");
      },
      removeItem: () => {},
    };
    const d = new Drafts(bad);
    d.set("u", "room:1", "kept in memory");
    d.flush();
    expect(d.get("u", "room:1")).toBe("kept in memory");
    expect(new Drafts(bad).get("u", "room:1")).toBe("");
  });
});

describe("#room links", () => {
  function show(body: string): HTMLElement {
    const div = document.createElement("div");
    mount(render(body, [], [{ id: 3, name: "general" }, { id: 4, name: "big garden" }]), div);
    return div;
  }
  it("links a visible room's name to the room, longest name first", () => {
    const a = show("see #General, and #big garden.").querySelectorAll("a");
    expect([...a].map((x) => [x.getAttribute("href"), x.textContent])).toEqual([
      ["#/rooms/3", "#General"],
      ["#/rooms/4", "#big garden"],
    ]);
    expect(a[0]!.getAttribute("target")).toBeNull();
  });
  it("leaves unknown rooms, words and code alone, and never nests links", () => {
    expect(show("#generally #nope issue#general `#general`").querySelectorAll("a")).toHaveLength(0);
    const div = show("[#general](https://example.com)");
    expect(div.querySelectorAll("a")).toHaveLength(1);
    expect(div.querySelector("a")!.getAttribute("href")).toBe("https://example.com/");
  });
  it("uses the client's list of rooms by default, without direct rooms", () => {
    putRoom({ id: 7, name: "lobby", private: false, created_by: "x", created_at: "", last_seq: 0, member: true });
    putRoom({ id: 8, name: "Bob", private: true, kind: "direct", created_by: "x", created_at: "", last_seq: 0, member: true });
    const div = document.createElement("div");
    mount(render("#lobby #Bob"), div);
    expect([...div.querySelectorAll("a")].map((a) => a.getAttribute("href"))).toEqual(["#/rooms/7"]);
  });
});

describe("the composer's autocomplete", () => {
  const realFetch = globalThis.fetch;
  function key(k: string, init: KeyboardEventInit = {}): KeyboardEvent {
    return new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...init });
  }
  function setup() {
    me.value = { id: "me", name: "Me", avatar_url: "" };
    roomList.value = new Map();
    putRoom({ id: 1, name: "general", private: false, created_by: "me", created_at: "", last_seq: 0, member: true });
    putRoom({ id: 2, name: "garden", private: false, created_by: "me", created_at: "", last_seq: 0, member: false });
    members.value = new Map();
    setMembers(1, [
      { id: "me", name: "Me" },
      { id: "b", name: "bob" },
      { id: "c", name: "Bobby Tables" },
    ]);
    current.value = 1;
    const div = document.createElement("div");
    document.body.append(div);
    const onSend = vi.fn();
    const onEditLast = vi.fn(() => true);
    act(() => {
      mount(
        <Composer draft={"w" + Math.random()} formId="f" inputId="c" sendId="s" label="Message" placeholder="" sendLabel="Send" onSend={onSend} onEditLast={onEditLast} />,
        div,
      );
    });
    const ta = div.querySelector("textarea")!;
    const form = div.querySelector("form")!;
    form.requestSubmit = () => void form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    ta.focus();
    const type = (text: string) =>
      act(() => {
        ta.value = text;
        ta.setSelectionRange(text.length, text.length);
        ta.dispatchEvent(new InputEvent("input", { bubbles: true }));
      });
    const press = (k: string, init: KeyboardEventInit = {}) => {
      const ev = key(k, init);
      act(() => void ta.dispatchEvent(ev));
      return ev;
    };
    const options = () => [...div.querySelectorAll<HTMLElement>("[role=option]")];
    return { div, ta, type, press, options, onSend, onEditLast };
  }
  afterEach(() => {
    document.body.innerHTML = "";
    globalThis.fetch = realFetch;
  });

  it("lists members for @, moves with the arrows, inserts with Enter, and does not send", () => {
    global.fetch = vi.fn(() => new Promise<Response>(() => {})) as unknown as typeof fetch;
    const { div, ta, type, press, options, onSend } = setup();
    expect(ta.getAttribute("role")).toBe("combobox");
    expect(ta.getAttribute("aria-expanded")).toBe("false");
    type("hi @bo");
    const list = div.querySelector<HTMLElement>("#c-complete")!;
    expect(list.hidden).toBe(false);
    expect(ta.getAttribute("aria-expanded")).toBe("true");
    expect(ta.getAttribute("aria-controls")).toBe("c-complete");
    expect(options().map((o) => o.querySelector(".complete-name")!.textContent)).toEqual(["bob", "Bobby Tables"]);
    expect(ta.getAttribute("aria-activedescendant")).toBe("c-complete-0");
    press("ArrowDown");
    expect(ta.getAttribute("aria-activedescendant")).toBe("c-complete-1");
    expect(options()[1]!.getAttribute("aria-selected")).toBe("true");
    press("ArrowDown");
    expect(ta.getAttribute("aria-activedescendant")).toBe("c-complete-0"); // wraps
    press("ArrowUp");
    const enter = press("Enter");
    expect(enter.defaultPrevented).toBe(true);
    expect(onSend).not.toHaveBeenCalled();
    expect(ta.value).toBe("hi @Bobby Tables ");
    expect(ta.getAttribute("aria-expanded")).toBe("false");
    press("Enter");
    expect(onSend).toHaveBeenCalledWith("hi @Bobby Tables ");
  });

  it("Escape closes the list, and the next Escape is not taken", () => {
    const { ta, type, press } = setup();
    type("#g");
    expect(ta.getAttribute("aria-expanded")).toBe("true");
    const outer = vi.fn();
    document.body.addEventListener("keydown", outer);
    const esc = press("Escape");
    expect(esc.defaultPrevented).toBe(true);
    expect(outer).not.toHaveBeenCalled();
    expect(ta.getAttribute("aria-expanded")).toBe("false");
    type("#ge"); // the same trigger stays closed
    expect(ta.getAttribute("aria-expanded")).toBe("false");
    const again = press("Escape");
    expect(again.defaultPrevented).toBe(false);
    expect(outer).toHaveBeenCalledTimes(1);
    document.body.removeEventListener("keydown", outer);
    type("#ge #ga"); // a new trigger opens again
    expect(ta.getAttribute("aria-expanded")).toBe("true");
  });

  it("# inserts a room with Tab; a click on an option inserts it", () => {
    const { ta, type, press, options } = setup();
    type("#ga");
    press("Tab");
    expect(ta.value).toBe("#garden ");
    type("see #ge");
    act(() => void options()[0]!.dispatchEvent(new MouseEvent("click", { bubbles: true })));
    expect(ta.value).toBe("see #general ");
  });

  it("nothing opens while an input method composes", () => {
    const { ta, press } = setup();
    act(() => void ta.dispatchEvent(new CompositionEvent("compositionstart", { bubbles: true })));
    act(() => {
      ta.value = "＠ぼ";
      ta.setSelectionRange(2, 2);
      ta.dispatchEvent(new InputEvent("input", { bubbles: true, isComposing: true }));
    });
    expect(ta.getAttribute("aria-expanded")).toBe("false");
    press("Enter", { isComposing: true });
    expect(ta.value).toBe("＠ぼ");
  });

  it("ArrowUp in an empty composer still edits the last message when nothing is listed", () => {
    const { press, onEditLast } = setup();
    press("ArrowUp");
    expect(onEditLast).toHaveBeenCalledTimes(1);
  });

  it("asks the server for more people after a pause, and only the latest answer counts", async () => {
    vi.useFakeTimers();
    const answers: ((r: Response) => void)[] = [];
    const signals: AbortSignal[] = [];
    global.fetch = vi.fn((_url: string, init: RequestInit) => {
      signals.push(init.signal!);
      return new Promise<Response>((resolve) => answers.push(resolve));
    }) as unknown as typeof fetch;
    const { type, options } = setup();
    type("@z");
    type("@ze");
    vi.advanceTimersByTime(250);
    expect(global.fetch).toHaveBeenCalledTimes(1); // debounced: one request for "ze"
    expect((global.fetch as unknown as { mock: { calls: string[][] } }).mock.calls[0]![0]).toContain("users?q=ze");
    type("@zel");
    expect(signals[0]!.aborted).toBe(true);
    vi.advanceTimersByTime(250);
    expect(global.fetch).toHaveBeenCalledTimes(2);
    vi.useRealTimers();
    await act(async () => {
      answers[1]!(new Response(JSON.stringify({ users: [{ id: "z", name: "Zelda" }, { id: "me", name: "Me" }] })));
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(options().map((o) => o.querySelector(".complete-name")!.textContent)).toEqual(["Zelda"]);
    expect(options()[0]!.textContent).toContain("not in this room");
  });
});
