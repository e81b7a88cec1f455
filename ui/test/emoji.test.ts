import { describe, expect, it } from "vitest";
import { canonical, loadEmoji, searchEmoji } from "../src/emoji";
import { setLang } from "../src/i18n";

describe("emoji data", () => {
  it("loads names, shortcodes and skin tones, and finds by shortcode first", async () => {
    setLang("en");
    const d = await loadEmoji();
    expect(d.list.length).toBeGreaterThan(1500);
    const wave = d.byShortcode.get("wave");
    expect(wave?.unicode).toBe("👋");
    expect(wave?.skins).toHaveLength(5);
    expect(d.byUnicode.get("👋🏽")?.label).toContain("medium skin tone");
    const hits = await searchEmoji(":thumbsup");
    expect(hits[0]?.unicode).toBe("👍");
    expect((await searchEmoji("tada", 3))[0]?.unicode).toBe("🎉");
    expect(await searchEmoji("")).toEqual([]);
    expect(d.byShortcode.get("heart")?.unicode).toBe("❤️"); // U+2764 needs its selector
    expect(canonical("👍\uFE0F")).toBe("👍");
    expect(canonical("🏳️‍🌈")).toBe("🏳️‍🌈");
    expect(d.byUnicode.get("❤")?.unicode).toBe("❤️");
    expect(await searchEmoji("zzqqxx")).toEqual([]);
  });
  it("names emoji in Japanese, and still takes ASCII shortcodes", async () => {
    setLang("ja");
    const d = await loadEmoji();
    expect(d.lang).toBe("ja");
    expect(d.byUnicode.get("👋")?.label).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    expect((await searchEmoji("wave"))[0]?.unicode).toBe("👋");
    setLang("en");
  });
});
