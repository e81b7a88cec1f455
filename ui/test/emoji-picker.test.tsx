// The emoji picker's logic (skin tones, the recently used, the search of a
// pasted emoji, where the popover goes), who reacted, and the picker in
// happy-dom: what it lists, picks and closes on.

import "fake-indexeddb/auto";
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import EmojiPicker, { place } from "../src/components/EmojiPanel";
import { who } from "../src/components/Reactions";
import {
  findEmoji,
  GROUPS,
  loadEmoji,
  recentEmoji,
  RECENT_MAX,
  rememberEmoji,
  setSkinTone,
  skinTone,
  withRecent,
  withTone,
} from "../src/emoji";
import { setLang } from "../src/i18n";
import { people } from "../src/state/rooms";

const kiss = "🧑🏻\u200d❤️\u200d💋\u200d🧑🏼";

beforeEach(() => {
  localStorage.clear();
  setLang("en");
});

describe("skin tones", () => {
  it("picks the variant where every person has the tone, and keeps the emoji without one", async () => {
    const d = await loadEmoji();
    const wave = d.byShortcode.get("wave")!;
    expect(withTone(wave, 0).unicode).toBe("👋");
    expect(withTone(wave, 3).unicode).toBe("👋🏽");
    expect(withTone(wave, 5).unicode).toBe("👋🏿");
    const hands = d.list.find((e) => e.label === "people holding hands")!;
    expect(withTone(hands, 2).unicode).toBe("🧑🏼\u200d🤝\u200d🧑🏼");
    const smile = d.byShortcode.get("smile")!;
    expect(withTone(smile, 4)).toBe(smile);
  });
  it("is remembered, and bad stored values mean the default", () => {
    expect(skinTone()).toBe(0);
    setSkinTone(4);
    expect(skinTone()).toBe(4);
    localStorage.setItem("hanashi.emoji.tone", "9");
    expect(skinTone()).toBe(0);
  });
});

describe("recently used", () => {
  it("is the most recent first, without repeats, at most RECENT_MAX", () => {
    expect(withRecent(["a", "b", "c"], "b")).toEqual(["b", "a", "c"]);
    expect(withRecent([], "x")).toEqual(["x"]);
    const many = Array.from({ length: RECENT_MAX }, (_, i) => String(i));
    expect(withRecent(many, "new")).toHaveLength(RECENT_MAX);
    expect(withRecent(many, "new")[0]).toBe("new");
  });
  it("is kept in canonical form, and survives garbage in storage", () => {
    rememberEmoji("🎉");
    rememberEmoji("👍\uFE0F");
    rememberEmoji("🎉");
    expect(recentEmoji()).toEqual(["🎉", "👍"]);
    localStorage.setItem("hanashi.emoji.recent", "{not json");
    expect(recentEmoji()).toEqual([]);
    localStorage.setItem("hanashi.emoji.recent", JSON.stringify([1, "😀", null]));
    expect(recentEmoji()).toEqual(["😀"]);
  });
});

describe("findEmoji", () => {
  it("finds a pasted emoji as itself, first, then by names", async () => {
    const d = await loadEmoji();
    expect(findEmoji(d, kiss)[0]?.unicode).toBe(kiss);
    expect(findEmoji(d, "👍\uFE0F")[0]?.unicode).toBe("👍");
    expect(findEmoji(d, "tada")[0]?.unicode).toBe("🎉");
    expect(findEmoji(d, "  ")).toEqual([]);
  });
  it("shows every group but the components", () => {
    expect(GROUPS).not.toContain(2);
    expect(GROUPS).toHaveLength(9);
  });
});

describe("place", () => {
  const rect = (left: number, top: number, w: number, h: number) => new DOMRect(left, top, w, h);
  it("goes below its opener, right-aligned, else above, always on the screen", () => {
    expect(place(rect(600, 100, 40, 30), 352, 420, 1280, 800)).toEqual({ top: 134, left: 288 });
    expect(place(rect(600, 700, 40, 30), 352, 420, 1280, 800)).toEqual({ top: 276, left: 288 });
    expect(place(rect(10, 100, 40, 30), 352, 420, 1280, 800).left).toBe(8);
    expect(place(rect(1270, 300, 40, 30), 352, 420, 1280, 600)).toEqual({ top: 172, left: 1280 - 352 - 8 });
  });
});

describe("who reacted", () => {
  afterEach(() => people.clear());
  it("names the people, you, and how many more", () => {
    people.set("u1", { id: "u1", name: "alice", avatar_url: "" });
    people.set("u2", { id: "u2", name: "bob", avatar_url: "" });
    expect(who(["u1"], 1)).toBe("alice");
    expect(who(["u1", "u2"], 2, "u2")).toBe("alice and you");
    expect(who(["u1", "u2"], 5)).toBe("alice, bob, and 3 others");
    expect(who(["u1"], 2)).toBe("alice and 1 other");
    const twenty = Array.from({ length: 20 }, (_, i) => "x" + i);
    expect(who(twenty, 30)).toMatch(/, and 20 others$/);
    setLang("ja");
    expect(who(["u1", "u2"], 3)).toContain("ほか 1 人");
  });
});

describe("EmojiPicker", () => {
  async function open(chosen?: (e: string) => boolean) {
    const div = document.createElement("div");
    const opener = document.createElement("button");
    document.body.append(opener, div);
    opener.focus();
    const onPick = vi.fn();
    const onClose = vi.fn();
    await act(async () => {
      render(<EmojiPicker onPick={onPick} onClose={onClose} chosen={chosen} />, div);
    });
    await act(async () => {
      await loadEmoji();
    });
    return { div, opener, onPick, onClose, unmount: () => render(null, div) };
  }
  afterEach(() => {
    document.body.innerHTML = "";
  });

  it("lists the common reactions first, named, then the groups; a click picks and remembers", async () => {
    const { div, onPick, unmount } = await open((e) => e === "👍");
    const dialog = div.querySelector("[role=dialog]")!;
    expect(dialog.getAttribute("aria-label")).toBe("Emoji");
    const first = [...div.querySelectorAll<HTMLElement>('[data-section="recent"] [role=option]')];
    expect(first.map((o) => o.dataset.emoji)).toEqual(["👍", "❤️", "😂", "🎉", "😮", "👀"]);
    expect(first[0]!.getAttribute("aria-label")).toBe("thumbs up");
    expect(first[0]!.getAttribute("aria-selected")).toBe("true");
    expect(first[0]!.tabIndex).toBe(0);
    expect(first[1]!.tabIndex).toBe(-1);
    expect(div.querySelector('[data-section="0"] [role=option]')).not.toBeNull();
    first[3]!.click();
    expect(onPick).toHaveBeenCalledWith("🎉");
    expect(recentEmoji()).toEqual(["🎉"]);
    unmount();
  });

  it("searches names and shortcodes, says how many, and Enter picks the best", async () => {
    const { div, onPick, unmount } = await open();
    const input = div.querySelector<HTMLInputElement>(".picker-search")!;
    expect(document.activeElement).toBe(input);
    await act(async () => {
      input.value = "tada";
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    expect(div.querySelector<HTMLElement>("[role=option]")!.dataset.emoji).toBe("🎉");
    expect(div.querySelector("[role=status][aria-live]")!.textContent).toMatch(/emoji found/);
    expect(div.querySelector(".picker-cats")!.hasAttribute("hidden")).toBe(true);
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(onPick).toHaveBeenCalledWith("🎉");
    await act(async () => {
      input.value = "zzqqxx";
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    expect(div.textContent).toContain("No emoji found");
    unmount();
  });

  it("ArrowDown goes from the search box into the list; typing there goes back to searching", async () => {
    const { div, unmount } = await open();
    const input = div.querySelector<HTMLInputElement>(".picker-search")!;
    await act(async () => {
      input.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
    });
    const option = document.activeElement as HTMLElement;
    expect(option.getAttribute("role")).toBe("option");
    expect(option.dataset.emoji).toBe("👍");
    expect(option.tabIndex).toBe(0);
    option.dispatchEvent(new KeyboardEvent("keydown", { key: "s", bubbles: true }));
    expect(document.activeElement).toBe(input);
    unmount();
  });

  it("closes on Escape without letting the key out, and gives the focus back", async () => {
    const { div, opener, onClose, unmount } = await open();
    const outside = vi.fn();
    div.addEventListener("keydown", outside);
    const input = div.querySelector<HTMLInputElement>(".picker-search")!;
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(onClose).toHaveBeenCalled();
    expect(outside).not.toHaveBeenCalled();
    unmount();
    expect(document.activeElement).toBe(opener);
  });

  it("speaks Japanese: the groups, the emoji's names", async () => {
    setLang("ja");
    const { div, unmount } = await open();
    expect(div.querySelector('[data-section="0"] .picker-heading')!.textContent).toBe("顔と感情");
    expect(div.querySelector('[data-section="recent"] [data-emoji="🎉"]')!.getAttribute("aria-label")).toBe("クラッカー");
    expect(div.querySelector(".picker-search")!.getAttribute("aria-label")).toBe("絵文字を検索");
    unmount();
    setLang("en");
  });

  it("applies the skin tone chosen, and remembers it", async () => {
    const { div, unmount } = await open();
    await act(async () => {
      div.querySelector<HTMLButtonElement>(".picker-tone-button")!.click();
    });
    await act(async () => {
      div.querySelector<HTMLButtonElement>('.picker-tone[data-tone="3"]')!.click();
    });
    expect(skinTone()).toBe(3);
    // the groups after the first come one a frame
    await vi.waitFor(() => expect(div.querySelector('[data-section="1"] [data-emoji="👋🏽"]')).not.toBeNull());
    expect(div.querySelector('[data-section="1"] [data-emoji="👋"]')).toBeNull();
    unmount();
  });
});
