// People: the time zone of the browser, another person's local time, who
// may be messaged directly. Pure, for the profile card and the settings.

import type { Profile, User } from "./types";

/** browserTimeZone is the IANA name of this browser's zone, or "". */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
  } catch {
    return "";
  }
}

export interface LocalTime {
  /** "14:05" in the person's zone */
  time: string;
  /** their weekday ("Sat") when their date is not the viewer's, else "" */
  day: string;
}

/**
 * localTime is the time of day now in zone tz, in the language lang, with
 * their weekday when it is not the viewer's (in viewerZone, the browser's
 * when not given); null for an unknown zone or none.
 */
export function localTime(tz: string | undefined, now: Date, lang: string, viewerZone?: string): LocalTime | null {
  if (!tz) return null;
  try {
    const time = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", timeZone: tz }).format(now);
    const date = (zone: string | undefined) => new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(now);
    const day = date(tz) === date(viewerZone) ? "" : new Intl.DateTimeFormat(lang, { weekday: "short", timeZone: tz }).format(now);
    return { time, day };
  } catch {
    return null; // a zone this browser does not know
  }
}

/**
 * canMessage says whether viewer is offered a direct conversation with
 * target: not with themselves, and as the people search offers (signed-in
 * users, not guests, not disabled), only between signed-in users.
 */
export function canMessage(viewer: Pick<User, "id" | "guest"> | null, target: Pick<Profile, "id" | "guest" | "disabled">): boolean {
  return !!viewer && !viewer.guest && viewer.id !== target.id && !target.guest && !target.disabled;
}
