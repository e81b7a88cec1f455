import { describe, expect, it } from "vitest";
import { en } from "../src/i18n/en";
import { ja } from "../src/i18n/ja";
import { lang, pickLang, t } from "../src/i18n";

describe("catalogues", () => {
  it("ja has every en key, and nothing else", () => {
    expect(Object.keys(ja).sort()).toEqual(Object.keys(en).sort());
  });
  it("no empty strings, and the same {placeholders}", () => {
    const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of Object.keys(en) as (keyof typeof en)[]) {
      expect(ja[k].trim(), k).not.toBe("");
      expect(ph(ja[k]), k).toEqual(ph(en[k]));
    }
  });
  it("ja is Japanese: every string but names has Japanese characters", () => {
    for (const [k, v] of Object.entries(ja)) {
      if (k === "announce.message") continue;
      expect(/[\u3040-\u30ff\u4e00-\u9fff]/.test(v), k).toBe(true);
    }
  });
});

describe("t", () => {
  it("fills in params and picks the plural", () => {
    lang.value = "en";
    expect(t("thread.replies", { count: 1 })).toBe("1 reply");
    expect(t("thread.replies", { count: 56 })).toBe("56 replies");
    expect(t("typing.one", { name: "alice" })).toBe("alice is typing…");
    lang.value = "ja";
    expect(t("thread.replies", { count: 1 })).toBe("返信 1 件");
    lang.value = "en";
  });
  it("picks the language from storage, then the browser", () => {
    expect(pickLang(null, ["ja-JP", "en"])).toBe("ja");
    expect(pickLang(null, ["fr", "en-GB"])).toBe("en");
    expect(pickLang(null, ["fr"])).toBe("en");
    expect(pickLang("en", ["ja"])).toBe("en");
    expect(pickLang("xx", ["ja"])).toBe("ja");
  });
});
