// The safe Markdown subset of docs/protocol.md ("Formatting"), rendered
// straight into DOM nodes: *emphasis*, **strong**, `code`, fenced code
// blocks, [text](url) links, bare URLs, "- " and "1. " lists, "> " quotes,
// and @mentions highlighted.
//
// What keeps it safe: user text only ever becomes text nodes
// (createTextNode, textContent); elements are made by name from a fixed
// set; the only attribute taken from user text is a link's href, and only
// after URL parsing says it is http, https or mailto. Nothing is ever
// parsed as HTML, so "<script>" is shown as typed. Anything that does not
// parse as the subset (an unclosed `, a link to javascript:) is shown as
// typed too.
//
// Work is linear in the length of the body: a delimiter that finds no
// closer is remembered, so a body of 16 KiB of openers costs no more than
// one scan per kind of delimiter and nesting level.

const MAX_DEPTH = 4; // nesting of quotes and of inline spans; deeper is text
const LINK_REL = "noopener nofollow ugc";
const SCHEMES = new Set(["http:", "https:", "mailto:"]);

// renderBody returns a fragment showing body. names are the names @ may
// mention, [{name, me}], me marking the viewer's own.
export function renderBody(body, names = []) {
  const ctx = { names: mentionTable(names) };
  const frag = document.createDocumentFragment();
  renderBlocks(String(body), 0, ctx, frag);
  return frag;
}

// safeURL returns the canonical form of a link target the client will
// follow, or "" when it is anything but an absolute http(s) or mailto URL.
// The scheme is checked on the text as typed and again after parsing, so
// neither "JaVaScRiPt:" nor "javascript&#58;" nor "java\nscript:" passes.
export function safeURL(raw) {
  if (!/^(https?:\/\/|mailto:)/i.test(raw)) return "";
  // No white space or control characters anywhere: URL parsing would
  // strip some of them and make the text differ from the target.
  if (/[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/.test(raw)) return "";
  let u;
  try {
    u = new URL(raw);
  } catch {
    return "";
  }
  if (!SCHEMES.has(u.protocol)) return "";
  if (u.protocol !== "mailto:" && !u.hostname) return "";
  return u.href;
}

// ---- blocks ---------------------------------------------------------------

// renderBlocks splits text into paragraphs, fenced code, quotes and lists.
// Paragraphs are text (the body keeps white space as typed), the others
// elements; consecutive paragraphs are separated by a blank line.
function renderBlocks(text, depth, ctx, out) {
  const lines = text.split("\n");
  let para = [];
  let lastWasPara = false;
  const flush = () => {
    if (para.length === 0) return;
    if (lastWasPara) out.append("\n\n");
    renderInline(para.join("\n"), 0, ctx, out, true);
    para = [];
    lastWasPara = true;
  };
  const block = (el) => {
    flush();
    out.append(el);
    lastWasPara = false;
  };

  for (let i = 0; i < lines.length; ) {
    const line = lines[i];
    const fence = /^ {0,3}(`{3,})([^`]*)$/.exec(line);
    if (fence) {
      const close = findFenceClose(lines, i + 1, fence[1].length);
      if (close >= 0) {
        const pre = document.createElement("pre");
        const code = document.createElement("code");
        code.textContent = lines.slice(i + 1, close).join("\n");
        pre.append(code);
        block(pre);
        i = close + 1;
        continue;
      }
      // Unclosed: the fence is shown as typed.
    }
    if (/^>/.test(line)) {
      const inner = [];
      while (i < lines.length && /^>/.test(lines[i])) {
        inner.push(lines[i].replace(/^> ?/, ""));
        i++;
      }
      const q = document.createElement("blockquote");
      if (depth + 1 < MAX_DEPTH) renderBlocks(inner.join("\n"), depth + 1, ctx, q);
      else q.textContent = inner.join("\n");
      block(q);
      continue;
    }
    const bullet = /^[-*] +(\S.*)$/.exec(line);
    const number = /^(\d{1,9})[.)] +(\S.*)$/.exec(line);
    if (bullet || number) {
      const ordered = !!number;
      const list = document.createElement(ordered ? "ol" : "ul");
      if (ordered && number[1] !== "1") list.start = Number(number[1]);
      while (i < lines.length) {
        const m = ordered ? /^\d{1,9}[.)] +(\S.*)$/.exec(lines[i]) : /^[-*] +(\S.*)$/.exec(lines[i]);
        if (!m) break;
        const li = document.createElement("li");
        renderInline(m[1], 0, ctx, li, true);
        list.append(li);
        i++;
      }
      block(list);
      continue;
    }
    if (line.trim() === "") {
      flush();
      i++;
      continue;
    }
    para.push(line);
    i++;
  }
  flush();
}

function findFenceClose(lines, from, n) {
  for (let j = from; j < lines.length; j++) {
    const m = /^ {0,3}(`{3,})\s*$/.exec(lines[j]);
    if (m && m[1].length >= n) return j;
  }
  return -1;
}

// ---- inline ---------------------------------------------------------------

const WORD = /[\p{L}\p{N}_]/u;

// renderInline appends text with code spans, emphasis, links and mentions
// to out. links is false inside a link's text (no links in links).
function renderInline(text, depth, ctx, out, links) {
  let plain = ""; // text not yet appended
  const emit = (node) => {
    if (plain) out.append(plain);
    plain = "";
    out.append(node);
  };
  // Openers that found no closer: no later one of the same kind will.
  const dead = new Set();
  const seen = { mid: -1 }; // the last "](" found, reused by later [s

  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const prev = i > 0 ? text[i - 1] : "";

    if (c === "`") {
      let n = 1;
      while (text[i + n] === "`") n++;
      const key = "`" + n;
      const close = dead.has(key) ? -1 : findRun(text, "`", n, i + n);
      if (close > i + n) {
        const code = document.createElement("code");
        code.textContent = text.slice(i + n, close);
        emit(code);
        i = close + n;
        continue;
      }
      if (close < 0) dead.add(key);
      plain += text.slice(i, i + n);
      i += n;
      continue;
    }

    if (c === "*" && depth < MAX_DEPTH) {
      const strong = text.startsWith("**", i);
      const n = strong ? 2 : 1;
      const key = strong ? "**" : "*";
      const open = text[i + n];
      if (open !== undefined && !/\s/.test(open) && open !== "*" && !dead.has(key)) {
        const close = strong ? findStrongClose(text, i + n) : findEmClose(text, i + n);
        if (close > i + n) {
          const el = document.createElement(strong ? "strong" : "em");
          renderInline(text.slice(i + n, close), depth + 1, ctx, el, links);
          emit(el);
          i = close + n;
          continue;
        }
        if (close < 0) dead.add(key);
      }
      plain += text.slice(i, i + n);
      i += n;
      continue;
    }

    if (c === "[" && links && !dead.has("[")) {
      const link = parseLink(text, i, seen);
      if (link === null) {
        dead.add("[");
      } else if (link.end > 0) {
        const href = safeURL(link.url);
        if (href && link.label.trim() !== "") {
          const a = anchor(href);
          renderInline(link.label, depth + 1, ctx, a, false);
          emit(a);
        } else {
          // A target we will not link to: the whole thing as typed.
          plain += text.slice(i, link.end);
        }
        i = link.end;
        continue;
      }
      plain += c;
      i++;
      continue;
    }

    if (links && (c === "h" || c === "H") && (prev === "" || !WORD.test(prev))) {
      const m = /^https?:\/\/[^\s<>"'`]+/i.exec(text.slice(i, i + 2048));
      if (m) {
        const url = trimURL(m[0]);
        const href = safeURL(url);
        if (href) {
          const a = anchor(href);
          a.textContent = url;
          emit(a);
          i += url.length;
          continue;
        }
      }
    }

    if (c === "@" && (prev === "" || !WORD.test(prev))) {
      const m = matchMention(text, i + 1, ctx);
      if (m) {
        const span = document.createElement("span");
        span.className = m.me ? "mention me" : "mention";
        span.textContent = text.slice(i, i + 1 + m.length);
        emit(span);
        i += 1 + m.length;
        continue;
      }
    }

    plain += c;
    i++;
  }
  if (plain) out.append(plain);
}

function anchor(href) {
  const a = document.createElement("a");
  a.href = href;
  a.rel = LINK_REL;
  a.target = "_blank";
  // Shows the real target, which the text may hide ("[https://a](https://b)").
  a.title = href;
  return a;
}

// findRun returns the index of the next run of exactly n chars c at or
// after from, or -1.
function findRun(text, c, n, from) {
  let j = text.indexOf(c, from);
  while (j >= 0) {
    let k = j;
    while (text[k] === c) k++;
    if (k - j === n) return j;
    j = text.indexOf(c, k);
  }
  return -1;
}

// findEmClose finds a single * that closes emphasis: after a non-space,
// not part of **.
function findEmClose(text, from) {
  let j = text.indexOf("*", from);
  while (j >= 0) {
    if (text[j + 1] === "*") {
      j = text.indexOf("*", j + 2 + (text[j + 2] === "*" ? 1 : 0));
      continue;
    }
    if (j > from && !/\s/.test(text[j - 1]) && text[j - 1] !== "*") return j;
    j = text.indexOf("*", j + 1);
  }
  return -1;
}

// findStrongClose finds ** after a non-space.
function findStrongClose(text, from) {
  let j = text.indexOf("**", from);
  while (j >= 0) {
    if (j > from && !/\s/.test(text[j - 1])) return j;
    j = text.indexOf("**", j + 1);
  }
  return -1;
}

// parseLink reads [label](url) at i: null when no "](" follows at all (no
// later [ can be a link either), {end: 0} when this [ is not a link, else
// the parts and the index after ")".
function parseLink(text, i, seen) {
  const mid = seen.mid > i ? seen.mid : text.indexOf("](", i + 1);
  if (mid < 0) return null;
  seen.mid = mid;
  const label = text.slice(i + 1, mid);
  if (label.includes("[") || label.includes("]") || label.includes("\n")) return { end: 0 };
  const close = text.indexOf(")", mid + 2);
  if (close < 0) return null;
  const url = text.slice(mid + 2, close);
  if (url === "" || /\s/.test(url)) return { end: 0 };
  return { label, url, end: close + 1 };
}

// trimURL leaves out what usually follows a URL in a sentence: final
// punctuation, and a ) that closes a parenthesis opened before the URL.
function trimURL(url) {
  for (;;) {
    const last = url[url.length - 1];
    if (".,:;!?'\"*".includes(last)) {
      url = url.slice(0, -1);
    } else if (last === ")" && count(url, "(") < count(url, ")")) {
      url = url.slice(0, -1);
    } else {
      return url;
    }
  }
}

function count(s, c) {
  let n = 0;
  for (const ch of s) if (ch === c) n++;
  return n;
}

// ---- mentions -------------------------------------------------------------

// mentionTable prepares the names for matching: longest first, compared
// as the server compares them (ASCII letters in any case).
function mentionTable(names) {
  const table = names
    .filter((x) => x && x.name)
    .map((x) => ({ key: asciiLower(x.name), me: !!x.me }));
  table.push({ key: "room", me: true }); // @room mentions everybody
  table.sort((a, b) => b.key.length - a.key.length);
  return table;
}

function asciiLower(s) {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// matchMention returns the longest name that follows the @ (at from) and
// ends the word: at the end, before white space, punctuation or a symbol.
function matchMention(text, from, ctx) {
  const rest = asciiLower(text.slice(from, from + 256));
  for (const n of ctx.names) {
    if (!rest.startsWith(n.key)) continue;
    const after = text[from + n.key.length];
    if (after === undefined || /[\s\p{P}\p{S}]/u.test(after)) return { length: n.key.length, me: n.me };
  }
  return null;
}
