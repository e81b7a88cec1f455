// The sidebar: rooms (nested under the room they were created in), direct
// conversations, and the forms to create a room and to find people. On a
// phone it is a drawer (App.tsx opens and closes it).

import { useState } from "preact/hooks";
import { createRoom, errorText, navigate, openDirect } from "../client";
import { lang, t } from "../i18n";
import { roomHash } from "../route";
import { counts, feeds } from "../state/feeds";
import { isDirect, members, rooms, title, tree } from "../state/rooms";
import { me } from "../state/session";
import { current } from "../state/view";
import type { Room } from "../types";
import { usePeopleSearch } from "./peopleSearch";

/** KindMark is the sign of a room's kind: # public, a lock private, @ direct. */
export function KindMark({ kind }: { kind: "public" | "private" | "direct" }) {
  if (kind === "direct") return <span class="room-mark" aria-hidden="true">@</span>;
  if (kind === "public") return <span class="room-mark" aria-hidden="true">#</span>;
  return (
    <span class="room-mark" aria-hidden="true">
      <svg viewBox="0 0 16 16" width="14" height="14">
        <path class="shackle" d="M5 7V5a3 3 0 0 1 6 0v2" />
        <rect x="3" y="7" width="10" height="7" rx="1.5" />
      </svg>
    </span>
  );
}

export function RoomMark({ room }: { room: Room }) {
  return <KindMark kind={isDirect(room) ? "direct" : room.private ? "private" : "public"} />;
}

function badge(n: number): string {
  return n > 99 ? "99+" : String(n);
}

function RoomEntry({ room, depth, user }: { room: Room; depth: number; user: string }) {
  counts.value; // the feeds are not signals: re-render when a count changed
  const active = room.id === current.value;
  const feed = room.member ? feeds.get(room.id) : undefined;
  const name = title(room, members.value.get(room.id), user);
  const cls = ["room"];
  if (active) cls.push("active");
  if (!room.member) cls.push("not-member");
  if (depth > 0) cls.push("child");
  if (feed && feed.unread > 0) cls.push("has-unread");
  const kind = isDirect(room) ? t("room.kindDirect") : room.private ? t("room.kindPrivate") : t("room.kindPublic");
  const extra: string[] = [kind];
  if (feed && feed.unread > 0) extra.push(t("room.unread", { count: feed.unread }));
  if (feed && feed.mentions > 0) extra.push(t("room.mentions", { count: feed.mentions }));
  return (
    <li>
      <a
        class={cls.join(" ")}
        href={roomHash(room.id)}
        data-room-id={String(room.id)}
        aria-current={active ? "page" : undefined}
        style={depth > 0 ? { "--depth": String(depth) } : undefined}
        onClick={(ev) => {
          // the same room again still closes the drawer
          if (active) {
            ev.preventDefault();
            navigate(roomHash(room.id));
          }
        }}
      >
        <RoomMark room={room} />
        <span class="room-name">{name}</span>
        {/* Named by its content, the visible name first (WCAG 2.5.3 "label in name"). */}
        <span class="visually-hidden">{` (${extra.join(", ")})`}</span>
        {feed && feed.mentions > 0 && (
          <span class="mentions" aria-hidden="true">
            {"@" + badge(feed.mentions)}
          </span>
        )}
        {feed && feed.unread > 0 && (
          <span class="unread" aria-hidden="true">
            {badge(feed.unread)}
          </span>
        )}
      </a>
    </li>
  );
}

function RoomForm() {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const nameEl = form.elements.namedItem("room-name") as HTMLInputElement;
    const privEl = form.elements.namedItem("room-private") as HTMLInputElement;
    const name = nameEl.value.trim();
    if (!name) return;
    setError("");
    setBusy(true);
    try {
      const room = await createRoom(name, privEl.checked);
      nameEl.value = "";
      privEl.checked = false;
      navigate(roomHash(room.id));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form id="room-form" class="side-form" autocomplete="off" onSubmit={submit}>
      <label for="room-name" class="visually-hidden">
        {t("room.newName")}
      </label>
      <input id="room-name" name="room-name" maxLength={64} required placeholder={t("room.newName")} />
      <div class="row">
        <label class="check">
          <input id="room-private" name="room-private" type="checkbox" /> {t("room.private")}
        </label>
        <button id="room-create" type="submit" disabled={busy}>
          {t("room.create")}
        </button>
      </div>
      {error && (
        <p id="room-error" class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function DMForm() {
  const { input, results, error, setError, clear, onSubmit, onInput } = usePeopleSearch();
  const open = async (id: string) => {
    try {
      await openDirect(id);
      clear();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form
      id="dm-form"
      class="side-form"
      role="search"
      autocomplete="off"
      onSubmit={onSubmit}
    >
      <label for="dm-search" class="visually-hidden">
        {t("dm.search")}
      </label>
      <input
        id="dm-search"
        ref={input}
        maxLength={64}
        placeholder={t("dm.search")}
        onInput={onInput}
      />
      <ul id="dm-results" class="dm-results" aria-live="polite">
        {results?.length === 0 && <li class="muted">{t("dm.nobody")}</li>}
        {results?.map((u) => (
          <li key={u.id}>
            <button type="button" class="ghost small person" data-user-id={u.id} title={t("dm.message", { name: u.name })} onClick={() => void open(u.id)}>
              {u.name}
            </button>
          </li>
        ))}
      </ul>
      {error && (
        <p id="dm-error" class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

const collators = new Map<string, (a: string, b: string) => number>();
function collator(l: string): (a: string, b: string) => number {
  let c = collators.get(l);
  if (!c) {
    c = new Intl.Collator(l).compare;
    collators.set(l, c);
  }
  return c;
}

export function Sidebar({ open, onClose }: { open: boolean; onClose(): void }) {
  counts.value; // re-render when a count changed
  const user = me.value;
  lang.value;
  if (!user) return null;
  const collate = collator(lang.value);
  const { rooms: list, directs } = tree(rooms.value.values(), collate);
  return (
    <nav
      id="sidebar"
      class={open ? "sidebar open" : "sidebar"}
      aria-label={t("sidebar.label")}
      onKeyDown={(ev) => {
        if (ev.key === "Escape" && open) {
          ev.preventDefault();
          onClose();
        }
      }}
    >
      <button type="button" id="drawer-close" class="ghost small drawer-close" onClick={onClose}>
        {t("menu.close")}
      </button>
      <h2 class="side-head" id="rooms-heading">
        {t("sidebar.rooms")}
      </h2>
      <ul id="rooms" class="rooms" aria-labelledby="rooms-heading">
        {list.map((i) => (
          <RoomEntry key={i.room.id} room={i.room} depth={i.depth} user={user.id} />
        ))}
      </ul>
      <RoomForm />
      <h2 class="side-head" id="directs-heading">
        {t("sidebar.directs")}
      </h2>
      <ul id="directs" class="rooms directs" aria-labelledby="directs-heading">
        {directs.map((r) => (
          <RoomEntry key={r.id} room={r} depth={0} user={user.id} />
        ))}
      </ul>
      {!user.guest && <DMForm />}
    </nav>
  );
}
