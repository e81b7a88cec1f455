import { useState } from "preact/hooks";
import type { Author } from "../types";

/** hue is a colour for a user, from their id: the same everywhere. */
export function hue(id: string): number {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return h % 360;
}

/** initials are the first letters of up to two words of a name. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => [...w][0] ?? "");
  return (letters.join("") || "?").toUpperCase();
}

/** pictures that failed to load on this page: not asked for again */
const broken = new Set<string>();

/**
 * Avatar shows a user's picture, or their initials on a colour of their id
 * when there is none or it fails to load (Gravatar unreachable, say).
 */
export function Avatar({ user, id, size = 32 }: { user: Author; id?: string; size?: number }) {
  const [, setFailed] = useState("");
  const url = user.avatar_url ?? "";
  if (url && !broken.has(url)) {
    return (
      <img
        id={id}
        class="avatar"
        src={url}
        alt=""
        width={size}
        height={size}
        loading="lazy"
        onError={() => {
          broken.add(url);
          setFailed(url);
        }}
      />
    );
  }
  return (
    <span
      id={id}
      class="avatar initials"
      aria-hidden="true"
      style={{ "--hue": String(hue(user.id)), width: `${size}px`, height: `${size}px` }}
    >
      {initials(user.name)}
    </span>
  );
}
