// The keyboard shortcuts: the fuzzy matcher, the quick switcher's ranking,
// moving between rooms, and the page-wide handler's manners (keys a
// component used, input methods, text fields).

import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fuzzyMatch, normalize } from "../src/fuzzy";
import { charKeys, GROUPS, keyLabel, onKey, RECENT_MAX, sheetOpen, SHORTCUTS, step, switcherOpen, visit } from "../src/keys";
import { ensureFeed, feeds } from "../src/state/feeds";
import { putRoom, rooms } from "../src/state/rooms";
import { me } from "../src/state/session";
import { announcement, current, currentRoom, open, RoomState } from "../src/state/view";
import { rank, type Candidate } from "../src/switcher";
import { lang } from "../src/i18n";

const score = (q: string, s: string) => fuzzyMatch(q, s)?.score ?? null;

describe("fuzzyMatch", () => {
  it("matches a subsequence, and nothing else", () => {
    expect(fuzzyMatch("gnrl", "general")).not.toBeNull();
    expect(fuzzyMatch("gnrl", "general")!.positions).toEqual([0, 2, 4, 6]);
    expect(fuzzyMatch("lrng", "general")).toBeNull();
    expect(fuzzyMatch("generals", "general")).toBeNull();
    expect(fuzzyMatch("", "anything")).toEqual({ score: 0, positions: [] });
  });

  it("ranks a prefix over a word start over the inside of a word", () => {
    const prefix = score("dev", "devops")!;
    const word = score("dev", "team-dev")!;
    const inside = score("dev", "abdevx")!;
    const scattered = score("dev", "d-e-v")!;
    expect(prefix).toBeGreaterThan(word);
    expect(word).toBeGreaterThan(inside);
    expect(word).toBeGreaterThan(scattered);
  });

  it("takes word starts: separators, camelCase, scripts", () => {
    expect(score("rn", "room-name")!).toBeGreaterThan(score("rn", "corner")!);
    expect(score("rn", "roomName")!).toBeGreaterThan(score("rn", "corner")!);
    expect(fuzzyMatch("chat", "日本語chat")!.positions).toEqual([3, 4, 5, 6]);
    expect(score("chat", "日本語chat")!).toBeGreaterThan(score("chat", "xxchat")!);
  });

  it("finds the best alignment, not the first", () => {
    // "ab" as the run at the word start, not the stray a and b before it
    expect(fuzzyMatch("ab", "a-x-b ab")!.positions).toEqual([6, 7]);
  });

  it("ignores case, width, accents and kana kind", () => {
    expect(normalize("ＧＥＮＥＲＡＬ")).toBe("general");
    expect(normalize("ﾊﾅｺ")).toBe("はなこ");
    expect(normalize("ハナコ")).toBe("はなこ");
    expect(normalize("Café")).toBe("cafe");
    expect(normalize("が")).toBe("が"); // voicing marks stay
    expect(fuzzyMatch("はなこ", "ハナコ")).not.toBeNull();
    expect(fuzzyMatch("ﾊﾅ", "花子 ハナコ")).not.toBeNull();
    expect(fuzzyMatch("GEN", "ｇｅｎｅｒａｌ")).not.toBeNull();
    expect(fuzzyMatch("jose", "José")!.positions).toEqual([0, 1, 2, 3]);
    expect(fuzzyMatch("か", "が")).toBeNull();
  });

  it("ignores spaces in the query, and maps matches back to the original text", () => {
    expect(fuzzyMatch("gen chat", "general-chat")).not.toBeNull();
    // one character of the original folds to two: the positions stay in the original
    expect(fuzzyMatch("a", "😀a")!.positions).toEqual([2]);
  });
});

const cand = (over: Partial<Candidate> & { name: string; room?: number }): Candidate => ({
  key: over.room !== undefined ? `room:${over.room}` : `user:${over.user ?? over.name}`,
  kind: "room",
  member: true,
  private: false,
  unread: 0,
  mentions: 0,
  recent: -1,
  ...over,
});

describe("rank", () => {
  const all: Candidate[] = [
    cand({ room: 1, name: "general" }),
    cand({ room: 2, name: "random", unread: 3 }),
    cand({ room: 3, name: "design", recent: 1 }),
    cand({ room: 4, name: "engineering", recent: 0 }),
    cand({ room: 5, name: "alerts", unread: 1, mentions: 1 }),
    cand({ room: 6, name: "games", member: false }),
    cand({ room: 7, name: "bob", kind: "direct", private: true }),
    cand({ name: "Grace", kind: "person", user: "u-grace", member: false }),
  ];
  const keys = (r: { key: string }[]) => r.map((c) => c.key);

  it("lists unread rooms (mentions first), then recent ones, with no query; not the room on screen, not people", () => {
    expect(keys(rank(all, "", 4))).toEqual(["room:5", "room:2", "room:3", "room:1", "room:7", "room:6"]);
    expect(keys(rank(all, "  ", null)).slice(0, 4)).toEqual(["room:5", "room:2", "room:4", "room:3"]);
  });

  it("ranks by the match, then unread, then recency", () => {
    const r = rank(all, "gnrl", null);
    expect(keys(r)).toEqual(["room:1"]);
    expect(r[0]!.positions).toEqual([0, 2, 4, 6]);
    // "g": the start of general, games and Grace; inside design and engineering
    const g = keys(rank(all, "g", null));
    expect(new Set(g.slice(0, 3))).toEqual(new Set(["room:1", "room:6", "user:u-grace"]));
    expect(g.slice(3)).toEqual(["room:4", "room:3"]);
    // equal scores: the one visited more recently first
    const e = rank([cand({ room: 1, name: "ab" }), cand({ room: 2, name: "ab", recent: 3 }), cand({ room: 3, name: "ab", unread: 1 })], "ab", null);
    expect(keys(e)).toEqual(["room:3", "room:2", "room:1"]);
  });

  it("takes # for rooms only and @ for people only", () => {
    expect(keys(rank(all, "#g", null))).toEqual(["room:1", "room:6", "room:4", "room:3"]);
    expect(keys(rank(all, "@", null))).toEqual(["room:7"]);
    expect(keys(rank(all, "@gr", null))).toEqual(["user:u-grace"]);
  });

  it("keeps a bounded list of recent rooms, the latest first", () => {
    expect(visit([1, 2, 3], 2)).toEqual([2, 1, 3]);
    let l: number[] = [];
    for (let i = 0; i < 30; i++) l = visit(l, i);
    expect(l.length).toBe(RECENT_MAX);
    expect(l[0]).toBe(29);
  });
});

describe("step", () => {
  const order = [10, 11, 12, 13];
  it("moves up and down, and stops at the ends", () => {
    expect(step(order, 11, 1)).toBe(12);
    expect(step(order, 11, -1)).toBe(10);
    expect(step(order, 13, 1)).toBeNull();
    expect(step(order, 10, -1)).toBeNull();
    expect(step(order, null, 1)).toBe(10);
    expect(step(order, null, -1)).toBe(13);
    expect(step([], null, 1)).toBeNull();
  });
  it("finds the next unread around the ends, never the current room", () => {
    const unread = new Set([10, 12]);
    const only = (id: number) => unread.has(id);
    expect(step(order, 12, 1, only)).toBe(10);
    expect(step(order, 10, -1, only)).toBe(12);
    expect(step(order, 11, 1, only)).toBe(12);
    expect(step(order, null, -1, only)).toBe(12);
    expect(step(order, 10, 1, (id) => id === 10)).toBeNull();
  });
});

describe("the table", () => {
  it("lists every group with rows, and names the keys per platform", () => {
    for (const g of GROUPS) expect(SHORTCUTS.some((s) => s.group === g.id)).toBe(true);
    lang.value = "en";
    expect(keyLabel("Mod", true)).toEqual({ cap: "⌘", spoken: "Command" });
    expect(keyLabel("Mod", false)).toEqual({ cap: "Ctrl" });
    expect(keyLabel("ArrowUp", false).spoken).toBe("Up arrow");
  });
});

describe("onKey", () => {
  const room = (id: number, name: string) => ({ id, name, private: false, created_by: "x", created_at: "", last_seq: 5, member: true });
  const press = (init: KeyboardEventInit, target: Element = document.body, prevented = false) => {
    const ev = new KeyboardEvent("keydown", { bubbles: true, cancelable: true, ...init });
    if (prevented) ev.preventDefault();
    Object.defineProperty(ev, "target", { value: target });
    onKey(ev);
    return ev;
  };

  beforeEach(() => {
    me.value = { id: "me", name: "me", avatar_url: "" };
    putRoom(room(1, "general"));
    const f = ensureFeed(1, 5, 2);
    f.unread = 3;
    const rs = new RoomState(1);
    rs.list.loaded = true;
    rs.newAfter.value = 2;
    open.set(1, rs);
    current.value = 1;
    currentRoom.value = rs;
    switcherOpen.value = false;
    sheetOpen.value = false;
    charKeys.value = true;
  });
  afterEach(() => {
    document.body.innerHTML = "";
    feeds.clear();
    open.clear();
    rooms.value = new Map();
    current.value = null;
    currentRoom.value = null;
  });

  it("Escape marks the open room read and takes the new line away", () => {
    press({ key: "Escape" });
    const f = feeds.get(1)!;
    expect(f.unread).toBe(0);
    expect(f.lastRead).toBe(5);
    expect(open.get(1)!.newAfter.value).toBe(-1);
  });

  it("leaves an Escape a component used, or one inside a dialog, the editor or the thread", () => {
    press({ key: "Escape" }, document.body, true);
    expect(feeds.get(1)!.unread).toBe(3);
    document.body.innerHTML = `<form class="edit-form"><textarea id="e"></textarea></form><aside id="thread"><textarea id="tc"></textarea></aside><input id="cb" role="combobox" aria-expanded="true">`;
    for (const id of ["e", "tc", "cb"]) press({ key: "Escape" }, document.getElementById(id)!);
    expect(feeds.get(1)!.unread).toBe(3);
    press({ key: "Escape", isComposing: true });
    expect(feeds.get(1)!.unread).toBe(3);
    // an open disclosure is no popup
    document.body.innerHTML = `<button id="members-toggle" aria-expanded="true">Members</button>`;
    press({ key: "Escape" }, document.getElementById("members-toggle")!);
    expect(feeds.get(1)!.unread).toBe(0);
  });

  it("Ctrl+K opens the switcher even from a text field, not while composing", () => {
    document.body.innerHTML = `<textarea id="composer"></textarea>`;
    const c = document.getElementById("composer")!;
    press({ key: "k", code: "KeyK", ctrlKey: true, isComposing: true }, c);
    expect(switcherOpen.value).toBe(false);
    const ev = press({ key: "k", code: "KeyK", ctrlKey: true }, c);
    expect(switcherOpen.value).toBe(true);
    expect(ev.defaultPrevented).toBe(true);
    press({ key: "k", code: "KeyK", ctrlKey: true }, c);
    expect(switcherOpen.value).toBe(false);
    // a Cyrillic layout: the key where K is
    press({ key: "л", code: "KeyK", ctrlKey: true }, c);
    expect(switcherOpen.value).toBe(true);
    press({ key: "Escape" }, c);
    switcherOpen.value = false;
    // Dvorak: the physical K key types "t"
    press({ key: "t", code: "KeyK", ctrlKey: true }, c);
    expect(switcherOpen.value).toBe(false);
  });

  it("? opens the sheet, but types in a text field, and not when turned off", () => {
    document.body.innerHTML = `<textarea id="composer"></textarea><input id="box" type="checkbox">`;
    press({ key: "?", shiftKey: true }, document.getElementById("composer")!);
    expect(sheetOpen.value).toBe(false);
    charKeys.value = false;
    press({ key: "?", shiftKey: true });
    expect(sheetOpen.value).toBe(false);
    charKeys.value = true;
    press({ key: "?", shiftKey: true }, document.getElementById("box")!);
    expect(sheetOpen.value).toBe(true);
  });

  it("Alt+arrows follow the sidebar's order; Alt+Shift the unread rooms", () => {
    putRoom(room(2, "random"));
    putRoom(room(3, "zoo"));
    ensureFeed(2, 5, 5);
    feeds.get(1)!.unread = 0;
    const f3 = ensureFeed(3, 5, 1);
    f3.unread = 4;
    document.body.innerHTML = `<nav id="sidebar"><a class="room" data-room-id="1"></a><a class="room" data-room-id="2"></a><a class="room" data-room-id="3"></a></nav>`;
    press({ key: "ArrowDown", altKey: true });
    expect(location.hash).toBe("#/rooms/2");
    location.hash = "";
    press({ key: "ArrowUp", altKey: true, shiftKey: true });
    expect(location.hash).toBe("#/rooms/3");
    expect(announcement.value).toBe("Now in zoo, 4 unread");
    // a select keeps Alt+ArrowDown (it opens its list)
    location.hash = "";
    document.body.insertAdjacentHTML("beforeend", `<select id="s"></select>`);
    press({ key: "ArrowDown", altKey: true }, document.getElementById("s")!);
    expect(location.hash).toBe("");
  });
});

describe("fuzzyMatch beyond the BMP", () => {
  it("finds a word run after characters of two UTF-16 units", () => {
    expect(fuzzyMatch("ab", "😀 x-a-b ab")!.positions).toEqual([9, 10]);
  });
});
