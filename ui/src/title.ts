// The tab tells what is unread while it is in the background: the count
// of unread messages in the rooms one is in (the numbers the sidebar
// shows) leads the title, "(3) Hanashi", and is drawn on the icon as a
// badge. (The title names no room: what people write never reaches it.) The icon is drawn on a canvas and set as a data: URL
// (the Content-Security-Policy allows data: images); with nothing unread
// the page's own favicon.svg comes back.

import { effect } from "@preact/signals";
import { counts, feeds } from "./state/feeds";
import { rooms } from "./state/rooms";
import { me } from "./state/session";

const APP = "Hanashi";
// The icon of public/favicon.svg, in its 32 x 32 units.
const BUBBLE = "M8 9h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-9l-5 4v-4H8a2 2 0 0 1-2-2v-9a2 2 0 0 1 2-2z";

/** unreadTotal is the sum of the unread counts of the rooms one is a member of. */
export function unreadTotal(): number {
  let n = 0;
  for (const [id, f] of feeds) if (rooms.value.get(id)?.member) n += Math.max(0, f.unread);
  return n;
}

/** tabTitle is the document's title: the count, then the app's name. */
export function tabTitle(count: number): string {
  return count > 0 ? `(${badgeText(count)}) ${APP}` : APP;
}

/** badgeText is a count as a badge shows it: 1 to 99, then 99+. */
export function badgeText(n: number): string {
  return n > 99 ? "99+" : String(n);
}

/** drawIcon draws the app's icon with a badge of count; null where there is no canvas. */
export function drawIcon(count: number): string | null {
  const c = document.createElement("canvas");
  c.width = c.height = 64;
  const g = c.getContext?.("2d");
  if (!g || typeof Path2D === "undefined") return null;
  g.scale(2, 2);
  g.fillStyle = "#2d5bbf";
  g.beginPath();
  g.roundRect(0, 0, 32, 32, 7);
  g.fill();
  g.fillStyle = "#ffffff";
  g.fill(new Path2D(BUBBLE));
  const text = badgeText(count);
  const r = text.length > 1 ? 11 : 9;
  g.beginPath();
  g.arc(32 - r, r, r, 0, 2 * Math.PI);
  g.fillStyle = "#d4351c";
  g.fill();
  g.lineWidth = 1.5;
  g.strokeStyle = "#ffffff";
  g.stroke();
  g.fillStyle = "#ffffff";
  g.font = `bold ${text.length > 2 ? 8 : text.length > 1 ? 11 : 13}px system-ui, sans-serif`;
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText(text, 32 - r, r + 1);
  return c.toDataURL("image/png");
}

function iconLink(): HTMLLinkElement {
  let link = document.querySelector<HTMLLinkElement>('link[rel~="icon"]');
  if (!link) {
    link = document.createElement("link");
    link.rel = "icon";
    link.type = "image/svg+xml";
    link.href = "./favicon.svg";
    document.head.append(link);
  }
  return link;
}

/** startTitle keeps the title and the icon current; it returns a function that stops it. */
export function startTitle(): () => void {
  const link = iconLink();
  const plain = { href: link.getAttribute("href") ?? "./favicon.svg", type: link.type || "image/svg+xml" };
  let shown = -1;
  return effect(() => {
    counts.value;
    rooms.value;
    const count = me.value ? unreadTotal() : 0;
    document.title = tabTitle(count);
    if (count === shown) return;
    shown = count;
    const icon = count > 0 ? drawIcon(count) : null;
    link.type = icon ? "image/png" : plain.type;
    link.href = icon ?? plain.href;
    link.dataset.count = String(count);
  });
}
