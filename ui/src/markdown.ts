// Message bodies: the Markdown subset of docs/protocol.md ("Formatting"),
// parsed by markdown-it and turned into Preact nodes (never into HTML):
// *emphasis*, **strong**, `code`, fenced code blocks, [text](url) links,
// bare URLs, "- " and "1. " lists, "> " quotes; @mentions highlighted;
// #room names of the rooms the viewer can see linked to the room.
// Everything else is shown as typed.
//
// What keeps it safe: raw HTML is off in the parser, and nothing is ever
// parsed as HTML anyway: user text becomes text nodes, elements come from a
// fixed set, and the only attribute taken from user text is a link's href,
// which must be an absolute http, https or mailto URL without white space,
// control or invisible characters (checked as typed, and again after
// normalisation). Paragraphs are text, not <p>, so a body's text reads as
// typed (the view keeps white space).

import MarkdownIt from "markdown-it";
import { Fragment, h, type ComponentChildren, type VNode } from "preact";
import { roomHash } from "./route";
import { rooms as visibleRooms } from "./state/rooms";

type Token = ReturnType<InstanceType<typeof MarkdownIt>["parse"]>[number];

const LINK_REL = "noopener nofollow ugc";
const SCHEMES = new Set(["http:", "https:", "mailto:"]);
// eslint-disable-next-line no-control-regex
const BAD_CHARS = /[\s\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/;

/** safeURL returns the URL to link to, or "" when it is not one we follow. */
export function safeURL(raw: string): string {
  if (!/^(https?:\/\/|mailto:)/i.test(raw)) return "";
  if (BAD_CHARS.test(raw)) return "";
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "";
  }
  if (!SCHEMES.has(u.protocol)) return "";
  if (u.protocol !== "mailto:" && !u.hostname) return "";
  return u.href;
}

const md = new MarkdownIt("default", { html: false, linkify: true, typographer: false, breaks: false, maxNesting: 20 });
md.disable(["table", "code", "hr", "reference", "html_block", "heading", "lheading"]);
md.disable(["strikethrough", "image", "autolink", "html_inline", "entity"]);
// Bare links only with their scheme: "example.com" stays text.
md.linkify.set({ fuzzyLink: false, fuzzyEmail: false, fuzzyIP: false });
// markdown-it checks a link after normalising it (percent-encoding hides
// an invisible character): check the destination as typed, first.
const normalizeLink = md.normalizeLink.bind(md);
md.normalizeLink = (url: string) => (safeURL(url) ? normalizeLink(url) : "");
md.validateLink = (url: string) => safeURL(url) !== "";

// A link with a title ([text](url "title")) is not in the subset: shown as
// typed. markdown-it's link rule runs, and what it made is taken back.
type InlineState = Parameters<Parameters<typeof md.inline.ruler.at>[1]>[0];
type InlineRule = (state: InlineState, silent: boolean) => boolean;
const rules = (md.inline.ruler as unknown as { __rules__: { name: string; fn: InlineRule }[] }).__rules__;
const linkRule = rules.find((r) => r.name === "link")!.fn;
md.inline.ruler.at("link", (state, silent) => {
  const n = state.tokens.length;
  const { pos, pending, level } = state;
  if (!linkRule(state, silent)) return false;
  if (silent || !state.tokens.slice(n).some((tok) => tok.type === "link_open" && tok.attrGet("title") !== null)) return true;
  state.tokens.length = n;
  state.tokens_meta.length = n;
  Object.assign(state, { pos, pending, level });
  return false;
});

/** A name @ can mention, and whether it is the viewer's. */
export interface MentionName {
  name: string;
  me: boolean;
}

interface MentionKey {
  key: string;
  me: boolean;
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** mentionTable: longest first, compared as the server compares (ASCII letters in any case). */
function mentionTable(names: readonly MentionName[]): MentionKey[] {
  const table = names.filter((x) => x.name).map((x) => ({ key: asciiLower(x.name), me: x.me }));
  table.push({ key: "room", me: true }); // @room mentions everybody
  return table.sort((a, b) => b.key.length - a.key.length);
}

/** A room # may link to. */
export interface RoomName {
  id: number;
  name: string;
}

interface RoomKey {
  key: string;
  id: number;
}

function roomTable(list: readonly RoomName[]): RoomKey[] {
  return list.filter((r) => r.name).map((r) => ({ key: asciiLower(r.name), id: r.id })).sort((a, b) => b.key.length - a.key.length);
}

// The table of the rooms on the client's list, made again when the list changes.
let seenRooms: unknown = null;
let seenTable: RoomKey[] = [];
function currentRoomTable(): RoomKey[] {
  const all = visibleRooms.peek(); // peek: a message does not re-render when any room changes
  if (all !== seenRooms) {
    seenRooms = all;
    seenTable = roomTable([...all.values()].filter((r) => r.kind !== "direct"));
  }
  return seenTable;
}

interface Tables {
  names: MentionKey[];
  rooms: RoomKey[];
}

const WORD = /[\p{L}\p{N}_]/u;
const END = /[\s\p{P}\p{S}]/u;

/** longest finds the longest key that follows text[i] and ends where a name may end. */
function longest<K extends { key: string }>(text: string, i: number, table: K[]): K | undefined {
  const rest = asciiLower(text.slice(i + 1, i + 257));
  return table.find((n) => {
    if (!rest.startsWith(n.key)) return false;
    const after = text[i + 1 + n.key.length];
    return after === undefined || END.test(after);
  });
}

/**
 * marks splits text into strings, highlighted @mentions and #room links
 * (not inside a link: links do not nest). Both follow chat.go's rule for
 * mentions: after a character that is not a letter, digit or "_", the
 * longest name that ends before a space, punctuation or the end.
 */
function marks(text: string, t: Tables, inLink: boolean): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let from = 0;
  const rooms = inLink ? [] : t.rooms;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== "@" && c !== "#") continue;
    if (i > 0 && WORD.test(text[i - 1]!)) continue;
    let node: ComponentChildren = null;
    let end = 0;
    if (c === "@") {
      const hit = longest(text, i, t.names);
      if (hit) {
        end = i + 1 + hit.key.length;
        node = h("span", { class: hit.me ? "mention me" : "mention" }, text.slice(i, end));
      }
    } else {
      const hit = longest(text, i, rooms);
      if (hit) {
        end = i + 1 + hit.key.length;
        node = h("a", { href: roomHash(hit.id) }, text.slice(i, end));
      }
    }
    if (!node) continue;
    if (i > from) out.push(text.slice(from, i));
    out.push(node);
    from = end;
    i = end - 1;
  }
  if (from < text.length) out.push(text.slice(from));
  return out;
}

interface Frame {
  tag: string | null; // null: a paragraph (its content is text)
  props: Record<string, string | number>;
  children: ComponentChildren[];
  lastWasPara: boolean;
}

function inline(tokens: Token[], table: Tables): ComponentChildren[] {
  const root: Frame = { tag: null, props: {}, children: [], lastWasPara: false };
  const stack: Frame[] = [root];
  const top = () => stack[stack.length - 1]!;
  for (const tok of tokens) {
    switch (tok.type) {
      case "text":
        top().children.push(...marks(tok.content, table, stack.some((f) => f.tag === "a" || f.tag === "span")));
        break;
      case "softbreak":
      case "hardbreak":
        top().children.push("\n");
        break;
      case "code_inline":
        top().children.push(h("code", null, tok.content));
        break;
      case "strong_open":
      case "em_open":
        stack.push({ tag: tok.tag, props: {}, children: [], lastWasPara: false });
        break;
      case "link_open": {
        const href = safeURL(String(tok.attrGet("href") ?? ""));
        // Shows the real target, which the text may hide ("[https://a](https://b)").
        stack.push({ tag: href ? "a" : "span", props: href ? { href, rel: LINK_REL, target: "_blank", title: href } : {}, children: [], lastWasPara: false });
        break;
      }
      case "strong_close":
      case "em_close":
      case "link_close": {
        if (stack.length < 2) break;
        const f = stack.pop()!;
        top().children.push(f.tag === "span" ? h(Fragment, null, ...f.children) : h(f.tag!, f.props, ...f.children));
        break;
      }
      default:
        // Nothing else is enabled; whatever it is, its text is shown.
        if (tok.content) top().children.push(tok.content);
    }
  }
  // Unbalanced (cannot happen): close what is open.
  while (stack.length > 1) {
    const f = stack.pop()!;
    top().children.push(h(f.tag!, f.props, ...f.children));
  }
  return root.children;
}

function fenceClosed(tok: Token, lines: string[]): boolean {
  const map = tok.map;
  if (!map) return true;
  const [start, end] = map;
  if (end - 1 <= start) return false;
  const last = (lines[end - 1] ?? "").replace(/^[\s>]*/, "");
  const mark = tok.markup[0] === "~" ? "~" : "`";
  return new RegExp(`^\\${mark}{${tok.markup.length},}\\s*$`).test(last);
}

/**
 * render turns a body into nodes; names are the names @ may mention, rooms
 * the rooms # links to (by default, those on the client's list).
 */
export function render(body: string, names: readonly MentionName[] = [], rooms?: readonly RoomName[]): VNode {
  const table: Tables = { names: mentionTable(names), rooms: rooms ? roomTable(rooms) : currentRoomTable() };
  const tokens = md.parse(body, {});
  const lines = body.split("\n");
  const root: Frame = { tag: "root", props: {}, children: [], lastWasPara: false };
  const stack: Frame[] = [root];
  const top = () => stack[stack.length - 1]!;
  const para = (children: ComponentChildren[]) => {
    const f = top();
    if (f.lastWasPara) f.children.push("\n\n");
    f.children.push(...children);
    f.lastWasPara = true;
  };
  const block = (node: VNode) => {
    top().children.push(node);
    top().lastWasPara = false;
  };
  for (const tok of tokens) {
    switch (tok.type) {
      case "paragraph_open":
      case "paragraph_close":
        break;
      case "inline":
        para(inline(tok.children ?? [], table));
        break;
      case "bullet_list_open":
      case "ordered_list_open":
      case "list_item_open":
      case "blockquote_open": {
        const props: Record<string, string | number> = {};
        const start = tok.attrGet("start");
        if (tok.type === "ordered_list_open" && start && start !== "1") props.start = Number(start);
        stack.push({ tag: tok.tag, props, children: [], lastWasPara: false });
        break;
      }
      case "bullet_list_close":
      case "ordered_list_close":
      case "list_item_close":
      case "blockquote_close": {
        if (stack.length < 2) break;
        const f = stack.pop()!;
        block(h(f.tag!, f.props, ...f.children));
        break;
      }
      case "fence": {
        const content = tok.content.endsWith("\n") ? tok.content.slice(0, -1) : tok.content;
        if (fenceClosed(tok, lines)) block(h("pre", null, h("code", null, content)));
        // Unclosed: the fence is shown as typed.
        else para([`${tok.markup}${tok.info}\n${content}`]);
        break;
      }
      default:
        if (tok.content) para([tok.content]);
    }
  }
  while (stack.length > 1) {
    const f = stack.pop()!;
    block(h(f.tag!, f.props, ...f.children));
  }
  return h(Fragment, null, ...root.children);
}
