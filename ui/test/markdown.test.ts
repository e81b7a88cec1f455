// Message bodies render safely: the XSS corpus of the Go browser test
// (cmd/hanashi/browser_chat_test.go, TestBrowserXSSCorpus) and the
// formatting of docs/protocol.md.

import { render as mount } from "preact";
import { describe, expect, it } from "vitest";
import { render, safeURL, type MentionName } from "../src/markdown";

function show(body: string, names: MentionName[] = []): HTMLElement {
  const div = document.createElement("div");
  mount(render(body, names), div);
  return div;
}

const ALLOWED: Record<string, string[]> = {
  A: ["href", "rel", "target", "title"],
  STRONG: [],
  EM: [],
  CODE: [],
  PRE: [],
  UL: [],
  OL: ["start"],
  LI: [],
  BLOCKQUOTE: [],
  SPAN: ["class"],
};

function wrong(div: HTMLElement): string[] {
  const out: string[] = [];
  for (const el of div.querySelectorAll("*")) {
    const attrs = ALLOWED[el.tagName];
    if (!attrs) {
      out.push("element " + el.tagName);
      continue;
    }
    for (const a of el.attributes) if (!attrs.includes(a.name)) out.push(`${el.tagName} attribute ${a.name}`);
    if (el.tagName === "A") {
      const a = el as HTMLAnchorElement;
      const u = new URL(a.getAttribute("href")!);
      if (!["http:", "https:", "mailto:"].includes(u.protocol)) out.push("link to " + a.href);
      if (a.getAttribute("rel") !== "noopener nofollow ugc" || a.getAttribute("target") !== "_blank") out.push("link rel/target");
    }
  }
  return out;
}

const S = "http://127.0.0.1:9/hit";
const run = `window.__xss=1;document.title='pwned';fetch('${S}')`;

// body, and what it must show (undefined: exactly the body as typed)
const corpus: [string, string[]?][] = [
  [`<script>${run}</script>`],
  [`<img src=x onerror="${run}">`],
  [`<img src="${S}">`],
  [`<svg onload="${run}"><circle r=10></svg>`],
  [`<svg><script>${run}</script></svg>`],
  [`<iframe src="javascript:parent.__xss=1"></iframe>`],
  [`<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>`],
  [`<a href="javascript:${run}">click</a>`],
  [`<body onload=window.__xss=1>`],
  [`<details open ontoggle="${run}">`],
  [`<input autofocus onfocus="${run}">`],
  [`<video><source onerror="${run}"></video>`],
  [`<math><mtext><table><mglyph><style><img src=x onerror="${run}">`],
  [`<object data="javascript:window.__xss=1"></object><embed src="javascript:window.__xss=1">`],
  [`<style>body{background:url('${S}')}</style><link rel=stylesheet href="${S}">`],
  [`<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1"><base href="javascript:/">`],
  [`<scr<script>ipt>${run}</scr</script>ipt>`],
  [`"><img src=x onerror=alert(1)>`],
  [`'-alert(1)-'</textarea><img src=x onerror=confirm(1)>`],
  [`[click me](javascript:${run})`],
  [`[click](JaVaScRiPt:window.__xss=1)`],
  [`[click](javascript&#58;window.__xss=1)`],
  [`[click](&#106;avascript:window.__xss=1)`],
  ["[click](java\tscript:window.__xss=1)"],
  ["[click](java\nscript:window.__xss=1)"],
  [`[click]( javascript:window.__xss=1)`],
  [`[click](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)`],
  [`[click](vbscript:msgbox(1))`],
  [`[click](VBScript:window.__xss=1)`],
  [`![img](javascript:window.__xss=1)`],
  [`[titled](https://example.com/ "onmouseover=window.__xss=1")`],
  [`[<img src=x onerror="${run}">](https://example.com/)`, [`<img src=x onerror="${run}">`]],
  [`[**<script>${run}</script>**](https://example.com/)`, [`<script>${run}</script>`]],
  [`https://example.com/"><script>${run}</script>`],
  [`https://example.com/<svg/onload=window.__xss=1>`],
  [`**unclosed bold <b onclick=window.__xss=1>x`],
  ["`unclosed code <script>" + run + "</script>"],
  ["```\n<script>" + run + "</script>\n```", ["<script>" + run + "</script>"]],
  ["```\nunclosed fence <img src=x onerror=window.__xss=1>"],
  [`*nested **deeper *deepest **<svg onload=window.__xss=1>** * ** *`, [`<svg onload=window.__xss=1>`]],
  [`> > > > > > > <img src=x onerror=window.__xss=1>`, [`<img src=x onerror=window.__xss=1>`]],
  ["- <img src=x onerror=window.__xss=1>\n1. <svg onload=window.__xss=1>", [`<img src=x onerror=window.__xss=1>`, `<svg onload=window.__xss=1>`]],
  ["\u202egnp.exe <img src=x onerror=window.__xss=1> \u202dback"],
  ["java\u200dscript:window.__xss=1 [x](java\u200dscript:window.__xss=1) [y](https://exa\u200bmple.com/)"],
  ["[https://example.com](https://ex\u0430mple.com/) p\u0430ypal.com", ["https://example.com", "p\u0430ypal.com"]],
  ["A".repeat(12000) + "<script>" + run + "</script>"],
  ["*a ".repeat(2000) + "[".repeat(1000) + "`".repeat(500) + "<img src=x onerror=window.__xss=1>"],
  ["bell\x07 esc\x1b[31m red\x08 back\x7f del\x1f <img src=x onerror=window.__xss=1>"],
  [`&lt;script&gt;window.__xss=1&lt;/script&gt; &#x3C;img src=x onerror=window.__xss=1&#x3E;`],
  [`\\u003cscript\\u003ewindow.__xss=1\\u003c/script\\u003e`],
  ["{{constructor.constructor('window.__xss=1')()}} ${window.__xss=1} <%= 1 %>"],
  [`<a href="${S}" target=_blank>sentinel link</a>`],
  [`@room <img src=x onerror=window.__xss=1> @alice`],
  [`<!--<img src="--><img src=x onerror=window.__xss=1//">`],
];

describe("the XSS corpus", () => {
  it("has at least 40 bodies", () => expect(corpus.length).toBeGreaterThanOrEqual(40));
  for (const [i, [body, shows]] of corpus.entries()) {
    it(`payload ${i}: ${JSON.stringify(body.slice(0, 50))}`, () => {
      const div = show(body, [{ name: "alice", me: false }]);
      expect(wrong(div)).toEqual([]);
      if (shows === undefined) expect(div.textContent).toBe(body);
      else for (const s of shows) expect(div.textContent).toContain(s);
    });
  }
});

describe("formatting", () => {
  it("renders the subset of docs/protocol.md", () => {
    const body =
      "**bold** *soft* `x < y` [the site](https://example.com/a?b=1) and https://example.org/path.\n" +
      "- one\n- two\n1. first\n> quoted *text*\n```\n<b>fenced</b>\n```\n[bad](javascript:alert(1))";
    const b = show(body);
    const links = [...b.querySelectorAll("a")].map((a) => `${a.textContent}=${a.getAttribute("href")}|${a.rel}|${a.target}`);
    expect(b.querySelector("strong")?.textContent).toBe("bold");
    expect(b.querySelector("em")?.textContent).toBe("soft");
    expect(b.querySelector("code")?.textContent).toBe("x < y");
    expect(links).toEqual([
      "the site=https://example.com/a?b=1|noopener nofollow ugc|_blank",
      "https://example.org/path=https://example.org/path|noopener nofollow ugc|_blank",
    ]);
    expect([...b.querySelectorAll(":scope > ul > li")].map((l) => l.textContent)).toEqual(["one", "two"]);
    expect(b.querySelector(":scope > ol > li")?.textContent).toBe("first");
    expect(b.querySelector("blockquote")?.textContent).toBe("quoted text");
    expect(b.querySelector("blockquote em")?.textContent).toBe("text");
    expect(b.querySelector("pre > code")?.textContent).toBe("<b>fenced</b>");
    expect(b.querySelectorAll("b, script").length).toBe(0);
    expect(b.textContent).toContain("[bad](javascript:alert(1))");
    expect(wrong(b)).toEqual([]);
  });
  it("keeps plain text as typed: lines, blank lines, headings and rules are not Markdown here", () => {
    for (const body of ["multi\nline ✓ 日本語", "one\n\ntwo", "# not a heading", "---", "a | b\n--|--\n1 | 2", "www.example.com example.com"]) {
      const b = show(body);
      expect(b.textContent).toBe(body);
      expect(b.querySelectorAll("*").length).toBe(0);
    }
  });
  it("numbers an ordered list from its first number", () => {
    expect(show("3. three\n4. four").querySelector("ol")?.getAttribute("start")).toBe("3");
  });
  it("shows a link with a title, or with an invisible character, as typed", () => {
    for (const body of ['see [x](https://example.com/ "t") *now*', "[y](https://exa\u200bmple.com/)", "[z](https://example.com/\u202e)"]) {
      const b = show(body);
      // (the bare URL inside may still be linked, as itself)
      expect([...b.querySelectorAll("a")].filter((a) => !a.textContent!.startsWith("https://"))).toEqual([]);
      expect(b.textContent).toBe(body.replace("*now*", "now"));
    }
  });
  it("links mailto", () => {
    expect(show("[mail](mailto:a@example.com)").querySelector("a")?.getAttribute("href")).toBe("mailto:a@example.com");
  });
});

describe("mentions", () => {
  const names = [
    { name: "bob", me: true },
    { name: "Ann Lee", me: false },
    { name: "Ann", me: false },
  ];
  it("highlights members, the longest name first, and you", () => {
    const b = show("hey @bob, @ann lee and @Ann! mail@bob @bobby @room", names);
    const spans = [...b.querySelectorAll("span.mention")].map((s) => `${s.textContent}${s.classList.contains("me") ? "*" : ""}`);
    expect(spans).toEqual(["@bob*", "@ann lee", "@Ann", "@room*"]);
    expect(b.textContent).toBe("hey @bob, @ann lee and @Ann! mail@bob @bobby @room");
  });
  it("not in code", () => {
    expect(show("`@bob`", names).querySelector(".mention")).toBeNull();
  });
});

describe("safeURL", () => {
  it("takes http, https and mailto only, without hidden characters", () => {
    expect(safeURL("https://example.com/x")).toBe("https://example.com/x");
    expect(safeURL("HTTP://EXAMPLE.com")).toBe("http://example.com/");
    expect(safeURL("mailto:a@b.c")).toBe("mailto:a@b.c");
    for (const bad of ["javascript:alert(1)", "data:text/html,x", "//example.com", "https://exa\u200bmple.com", "https://a b", "http://", "ftp://x.y"]) {
      expect(safeURL(bad), bad).toBe("");
    }
  });
});
