// What the client's modules share: constants, the outbox, where the view is
// scrolled, and how an error is shown.

import { APIError, unauthorized } from "../api";
import { catalogues, lang, t, type Key } from "../i18n";
import { Outbox } from "../outbox";
import { me } from "../state/session";
import { banner, currentRoom } from "../state/view";
import { signedOut } from "./session";

export const PAGE = 50; // history page size
export const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "👀"]; // the reaction picker

export const outbox = new Outbox();

/** life.gen is bumped on sign-in and sign-out: stale callbacks do nothing. */
export const life = { gen: 0 };

/** Where the message list is scrolled: set by the view, read by markRead. */
export const scroll = { atBottom: true, toBottom: () => {} };

export function pageVisible(): boolean {
  return document.visibilityState === "visible";
}

export function meID(): string | undefined {
  return me.value?.id;
}

/** fail shows an error: a lost session sends the person to the sign-in screen. */
export function fail(err: unknown, show: (text: string) => void): void {
  if (unauthorized(err)) {
    signedOut("ended");
    return;
  }
  console.error(err);
  show(errorText(err));
}

export function errorText(err: unknown): string {
  if (err instanceof APIError) {
    if (err.status === 0) return t("error.network");
    return codeText(err.code, err.message);
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * codeText is the text for an error code of the protocol: the server's own
 * message in English (it is English, and the more precise), the
 * catalogue's for the code otherwise.
 */
export function codeText(code: string, message: string): string {
  if (lang.value === "en" && message) return message;
  const key = `error.${code}`;
  if (key in catalogues.en) return t(key as Key);
  return message || t("error.generic");
}

export function showRoomError(text: string): void {
  const rs = currentRoom.value;
  if (rs) rs.error.value = text;
  else banner.value = text;
}
