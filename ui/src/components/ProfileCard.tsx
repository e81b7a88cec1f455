// The profile card: a person's picture, name, presence and local time, and
// a way to message them. It opens from a message's author (name or
// picture) and from the members list, beside what opened it (a bottom
// sheet on phones), as a modal dialog: the keyboard stays in it, Escape or
// a click outside closes it, and the keyboard goes back where it was.

import { signal } from "@preact/signals";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { errorText, openDirect } from "../client";
import { profile as readProfile } from "../client/people";
import { lang, t } from "../i18n";
import { canMessage, localTime } from "../people";
import { presence } from "../state/presence";
import { people, profiles } from "../state/rooms";
import { away, me } from "../state/session";
import type { Author, Profile } from "../types";
import { Avatar } from "./Avatar";
import "../styles/people.css";

interface CardRequest {
  user: Author;
  /** what opened the card: it is placed beside it, and gets the keyboard back */
  anchor: HTMLElement | null;
}

/** the card on screen, or null */
export const card = signal<CardRequest | null>(null);

/** openProfile shows user's card beside anchor. */
export function openProfile(user: Author, anchor: HTMLElement | null): void {
  card.value = { user, anchor };
}

/** PHONE is the width up to which the card is a bottom sheet. */
const PHONE = "(max-width: 600px)";
const GAP = 6; // px between the card and what opened it

/** place puts the dialog below the anchor, or above when there is no room, inside the viewport. */
function place(d: HTMLDialogElement, anchor: HTMLElement | null): void {
  const sheet = typeof matchMedia === "function" && matchMedia(PHONE).matches;
  d.classList.toggle("sheet", sheet || !anchor?.isConnected);
  if (sheet || !anchor?.isConnected) {
    d.style.removeProperty("top");
    d.style.removeProperty("left");
    return;
  }
  const a = anchor.getBoundingClientRect();
  const w = d.offsetWidth;
  const h = d.offsetHeight;
  const vw = document.documentElement.clientWidth;
  const vh = window.innerHeight;
  let top = a.bottom + GAP;
  if (top + h > vh - GAP && a.top - GAP - h >= GAP) top = a.top - GAP - h;
  top = Math.max(GAP, Math.min(top, vh - h - GAP));
  const left = Math.max(GAP, Math.min(a.left, vw - w - GAP));
  d.style.top = `${Math.round(top)}px`;
  d.style.left = `${Math.round(left)}px`;
}

export function ProfileCard() {
  const req = card.value;
  const ref = useRef<HTMLDialogElement>(null);
  const [profile, setProfile] = useState<Profile | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [now, setNow] = useState(() => new Date());
  /** what gets the keyboard once the card has closed */
  const afterClose = useRef<(() => void) | null>(null);
  const viewer = me.value;
  const id = req?.user.id;

  // Read the profile afresh each time a card opens.
  useEffect(() => {
    setProfile(null);
    setError("");
    if (!id) return;
    let live = true;
    readProfile(id)
      .then((p) => live && setProfile(p))
      .catch((err) => live && setError(errorText(err)));
    const timer = setInterval(() => setNow(new Date()), 15_000);
    setNow(new Date());
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [id, req]);

  useLayoutEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (req && !d.open) {
      d.showModal();
      d.focus();
    } else if (!req && d.open) {
      d.close();
      afterClose.current?.();
    }
    afterClose.current = null;
    if (req) place(d, req.anchor);
  });

  useEffect(() => {
    if (!req) return;
    const again = () => ref.current && place(ref.current, req.anchor);
    window.addEventListener("resize", again);
    return () => window.removeEventListener("resize", again);
  }, [req]);

  /**
   * close hides the card and gives the keyboard back to what opened it, or
   * to what then is given: only once the dialog is closed can anything
   * outside it take focus.
   */
  const close = (then?: () => void) => {
    const anchor = card.value?.anchor;
    afterClose.current = then ?? (() => anchor?.isConnected && anchor.focus());
    card.value = null;
  };

  profiles.value; // a name or picture changed: the card shows the new one
  const user: Author = req ? { ...req.user, ...(profile ?? {}), ...(people.get(req.user.id) ?? {}) } : { id: "", name: "" };
  const self = !!viewer && user.id === viewer.id;
  const state = self ? (away.value ? "away" : "online") : (presence.value.get(user.id) ?? "offline");
  const stateLabel = { online: t("presence.online"), away: t("presence.away"), offline: t("presence.offline") }[state];
  const zone = self ? (profile?.time_zone ?? viewer?.time_zone) : (profile?.time_zone ?? req?.user.time_zone);
  const local = localTime(zone, now, lang.value);
  const message = profile && canMessage(viewer, profile);

  const startDirect = async () => {
    setBusy(true);
    setError("");
    try {
      await openDirect(user.id);
      // The conversation is open: the keyboard goes to its composer (not
      // on a touch screen, where that would open the on-screen keyboard).
      close(() =>
        setTimeout(() => {
          const c = document.getElementById("composer") as HTMLTextAreaElement | null;
          if (c && !c.disabled && matchMedia("(pointer: fine)").matches) c.focus();
        }, 0),
      );
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog
      id="profile-card"
      ref={ref}
      class="profile-card"
      aria-labelledby="profile-card-name"
      aria-describedby="profile-card-about"
      data-user-id={req ? user.id : undefined}
      tabIndex={-1}
      onKeyDown={(ev) => {
        if (ev.key === "Escape") {
          // Only the card closes: no shortcut behind it sees this Escape.
          ev.preventDefault();
          ev.stopPropagation();
          close();
        }
      }}
      onCancel={(ev) => {
        ev.preventDefault();
        close();
      }}
      onClick={(ev) => {
        // A click on the backdrop is a click on the dialog outside its box.
        const d = ref.current;
        if (!d || ev.target !== d) return;
        const r = d.getBoundingClientRect();
        if (ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom) close();
      }}
    >
      {req && (
        <div class="profile-card-body">
          <div class="profile-card-top">
            <span class="profile-card-avatar">
              <Avatar user={user} size={72} />
              <span class="presence" data-state={state} aria-hidden="true" />
            </span>
            <div class="profile-card-text">
              <h2 id="profile-card-name" class="profile-card-name">
                {user.name}
              </h2>
              <div id="profile-card-about">
                <p class="profile-card-presence" data-state={state}>
                  {stateLabel}
                  {self && ` · ${t("people.you")}`}
                  {profile?.guest && ` · ${t("people.guest")}`}
                </p>
                <p id="profile-card-time" class="profile-card-time" data-zone={zone || undefined}>
                  {local
                    ? local.day
                      ? t("people.localTimeDay", { time: local.time, day: local.day })
                      : t("people.localTime", { time: local.time })
                    : profile || error
                      ? t("people.noTimeZone")
                      : "\u00a0"}
                </p>
              </div>
            </div>
          </div>
          {message && (
            <button
              id="profile-card-message"
              type="button"
              class="profile-card-message"
              disabled={busy}
              title={t("people.messageTitle", { name: user.name })}
              onClick={() => void startDirect()}
            >
              {t("people.message")}
            </button>
          )}
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <button
            id="profile-card-close"
            type="button"
            class="icon-button profile-card-close"
            aria-label={t("people.cardClose")}
            title={t("people.cardClose")}
            onClick={() => close()}
          >
            <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
              <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
            </svg>
          </button>
        </div>
      )}
    </dialog>
  );
}
