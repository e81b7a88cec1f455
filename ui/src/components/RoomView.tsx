// The room on screen: its head (title, join, leave, members, a room
// inside), the messages, who is typing, the composer; the members and the
// thread panels beside it. The composer comes first in the document (the
// skip link's target, two Tab presses from the top) and is placed at the
// bottom by CSS.

import { useComputed, useSignal, useSignalEffect } from "@preact/signals";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { createRoom, errorText, join, leave, loadOlder, loadUntil, markRead, scroll, send, typed } from "../client";
import { t } from "../i18n";
import type { MentionName } from "../markdown";
import { threadKey, threadUnread } from "../state/feeds";
import { typers } from "../state/presence";
import { isDirect, members, moderates, rooms, title } from "../state/rooms";
import { me } from "../state/session";
import { currentRoom, pending, startEditing, thread, type RoomState } from "../state/view";
import type { Message, Room } from "../types";
import { Composer } from "./Composer";
import { Members } from "./Members";
import { ProfileCard } from "./ProfileCard";
import { RoomInfo } from "./RoomInfo";
import { MessageList, type ListHandle, type ScrollState } from "./MessageList";
import "../styles/reading.css";
import { Thread } from "./Thread";
import { RoomMark } from "./Sidebar";

/** short cuts a name for a one-line placeholder. */
function short(name: string): string {
  const chars = [...name];
  return chars.length > 24 ? chars.slice(0, 23).join("") + "…" : name;
}

function Typing({ room }: { room: number }) {
  const [now, setNow] = useState(Date.now());
  const names = typers(room, now);
  useEffect(() => {
    if (names.length === 0) return;
    const timer = setTimeout(() => setNow(Date.now()), 1000);
    return () => clearTimeout(timer);
  });
  let text = "";
  if (names.length === 1) text = t("typing.one", { name: names[0]! });
  else if (names.length === 2) text = t("typing.two", { a: names[0]!, b: names[1]! });
  else if (names.length > 2) text = t("typing.many");
  return (
    <p id="typing" class="typing" aria-live="polite">
      {text}
    </p>
  );
}

function ChildForm({ room, close }: { room: Room; close(): void }) {
  const [error, setError] = useState("");
  const name = useRef<HTMLInputElement>(null);
  useEffect(() => name.current?.focus(), []);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const value = name.current?.value.trim() ?? "";
    if (!value) return;
    setError("");
    try {
      await createRoom(value, (form.elements.namedItem("child-private") as HTMLInputElement).checked, room.id);
      close();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form id="child-form" class="child-form" autocomplete="off" onSubmit={submit}>
      <input id="child-name" ref={name} maxLength={64} required aria-label={t("child.name")} placeholder={t("child.name")} />
      <label class="check">
        <input id="child-private" name="child-private" type="checkbox" /> {t("room.private")}
      </label>
      <button id="child-create" type="submit">
        {t("child.create")}
      </button>
      <button id="child-cancel" class="ghost" type="button" onClick={close}>
        {t("child.cancel")}
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function Messages({ rs, room, names }: { rs: RoomState; room: Room; names: readonly MentionName[] }) {
  const rev = rs.rev.value; // re-render when the list changes
  const user = me.value!;
  const handle = useRef<ListHandle | null>(null);
  const list = useMemo(() => rs.list.sorted(), [rs, rev]);
  const all = pending.value;
  const mine = useMemo(() => all.filter((e) => e.room === rs.id && !e.thread), [all, rs]);
  const unread = threadUnread.value;
  const [at, setAt] = useState<ScrollState>({ atBottom: true, away: false, newAbove: false, hasNew: false });
  // "Jump to first unread" is offered on entering the room, until the
  // "new" line has been in view.
  const [offer, setOffer] = useState(true);
  const [busy, setBusy] = useState(false);
  // the newest seq when the reader scrolled away: what came since is counted
  const leftAt = useRef(0);

  scroll.toBottom = () => {
    handle.current?.toBottom();
    scroll.atBottom = true;
  };

  const newAfter = rs.newAfter.value;
  // More unread than loaded: the first unread is older than the oldest loaded.
  const unreadOlder = newAfter >= 0 && rs.list.loaded && rs.list.more && rs.list.oldest > newAfter + 1;
  const showUnread = offer && rs.list.loaded && newAfter >= 0 && (at.newAbove || unreadOlder);
  let since = 0;
  if (at.away) {
    for (let i = list.length - 1; i >= 0 && list[i]!.seq > leftAt.current; i--) if (list[i]!.author.id !== user.id) since++;
  }

  const onScrollState = (st: ScrollState) => {
    if (st.away && !at.away) leftAt.current = rs.list.newest();
    if (st.hasNew && !st.newAbove) setOffer(false);
    scroll.atBottom = st.atBottom;
    setAt(st);
    markRead();
  };

  const jumpUnread = async () => {
    setBusy(true);
    try {
      if (unreadOlder) await loadUntil(rs, newAfter + 1);
    } finally {
      setBusy(false);
    }
    setOffer(false);
    handle.current?.revealNew();
  };

  return (
    <div id="scroller" class="scroller">
      <div class="jump jump-unread">
        {showUnread && (
          <button id="jump-unread" class="small" type="button" disabled={busy} onClick={() => void jumpUnread()}>
            {t("reading.jumpUnread")}
          </button>
        )}
      </div>
      <button id="load-older" class="ghost small load-older" type="button" hidden={!(rs.list.loaded && rs.list.more)} onClick={() => void loadOlder()}>
        {t("room.loadOlder")}
      </button>
      {!rs.list.loaded && <p class="muted loading">{t("room.loading")}</p>}
      <MessageList
        id="messages"
        label={t("room.messages", { room: title(room, members.value.get(room.id), user.id) })}
        messages={list}
        pending={mine}
        me={user}
        member={room.member}
        moderator={moderates(room, user.id)}
        names={names}
        newAfter={newAfter}
        threadNew={(m: Message) => (m.id ? (unread.get(threadKey(m.room, m.id)) ?? 0) : 0)}
        handle={handle}
        onScrollState={onScrollState}
        onTop={() => void loadOlder()}
      />
      {rs.list.loaded && list.length === 0 && mine.length === 0 && <p class="muted first">{t("room.emptyHistory")}</p>}
      <div class="jump jump-latest">
        {at.away && (
          <button
            id="jump-latest"
            class="small"
            type="button"
            onClick={() => {
              handle.current?.toBottom(true);
              scroll.atBottom = true;
            }}
          >
            {t("reading.jumpLatest")}
            {since > 0 && <span class="jump-count">{t("reading.newCount", { count: since })}</span>}
          </button>
        )}
      </div>
    </div>
  );
}

export function RoomView() {
  const rs = currentRoom.value;
  const user = me.value;
  const showMembers = useSignal(typeof matchMedia === "function" ? !matchMedia("(max-width: 960px)").matches : true);
  const [childOpen, setChildOpen] = useState(false);
  const [infoOpen, setInfoOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const room = rs ? rooms.value.get(rs.id) : undefined;
  const list = room ? members.value.get(room.id) : undefined;
  const names = useMemo<MentionName[]>(() => (list ?? []).map((m) => ({ name: m.name, me: m.id === user?.id })), [list, user?.id]);
  const error = useComputed(() => currentRoom.value?.error.value ?? "");
  useSignalEffect(() => {
    // a new room closes the form of the last one
    currentRoom.value;
    setChildOpen(false);
    setInfoOpen(false);
  });

  // A room picked in the sidebar with a mouse or the keyboard puts the
  // keyboard in its composer (not on a touch screen, where that would open
  // the on-screen keyboard; not on a page load, where Tab starts at the top).
  useEffect(() => {
    if (!rs || typeof matchMedia !== "function" || !matchMedia("(pointer: fine)").matches) return;
    if (!document.activeElement?.closest("#sidebar")) return;
    const c = document.getElementById("composer") as HTMLTextAreaElement | null;
    if (c && !c.disabled) c.focus();
  }, [rs]);

  if (!rs || !room || !user) return null;
  const name = title(room, list, user.id);
  const kind = isDirect(room) ? t("room.kindDirect") : room.private ? t("room.kindPrivate") : t("room.kindPublic");
  const act = (fn: () => Promise<void>) => async () => {
    setBusy(true);
    rs.error.value = "";
    try {
      await fn();
    } catch (err) {
      rs.error.value = errorText(err);
    } finally {
      setBusy(false);
    }
  };
  const ts = thread.value;

  return (
    <section id="room-view" class={ts ? "room-view with-thread" : "room-view"} aria-labelledby="room-title">
      <div class="room-main">
        <Composer
          draft={`room:${room.id}`}
          formId="composer-form"
          inputId="composer"
          sendId="send"
          label={t("composer.label", { room: name })}
          placeholder={room.member ? t("composer.placeholder", { room: short(isDirect(room) ? name : "#" + name) }) : t("composer.joinFirst")}
          sendLabel={t("composer.send")}
          disabled={!room.member}
          onSend={(body) => send(room.id, body)}
          onEditLast={() => {
            const last = rs.list
              .sorted()
              .reverse()
              .find((m) => m.author.id === user.id && m.id && !m.deleted && !m.provisional && (m.kind ?? "message") === "message");
            if (!last?.id) return false;
            startEditing(last.id);
            return true;
          }}
          onType={() => typed(room.id)}
        />
        <Messages key={rs.id} rs={rs} room={room} names={names} />
        <Typing room={room.id} />
        <p id="room-error-live" class="error banner" role="alert" hidden={!error.value}>
          {error.value}
        </p>
        <div class="room-head">
          <RoomMark room={room} />
          <h2 id="room-title">{name}</h2>
          <span id="room-kind" class="badge">
            {kind}
          </span>
          {room.topic ? (
            <p id="room-topic" class="room-topic" title={room.topic}>
              {room.topic}
            </p>
          ) : (
            <span class="spacer" />
          )}
          <button
            id="room-info-button"
            class="icon-button"
            type="button"
            aria-haspopup="dialog"
            aria-expanded={infoOpen}
            aria-label={t("people.roomInfo")}
            title={t("people.roomInfo")}
            onClick={() => setInfoOpen(true)}
          >
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
              <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2" />
              <path d="M12 11v6M12 7.5v.01" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" />
            </svg>
          </button>
          <span class="room-head-break" aria-hidden="true" />
          {room.member && !isDirect(room) && (
            <button
              id="new-child"
              class="ghost small"
              type="button"
              aria-expanded={childOpen}
              title={t("child.title")}
              onClick={() => setChildOpen(!childOpen)}
            >
              {t("child.button")}
            </button>
          )}
          <button
            id="members-toggle"
            class="ghost small"
            type="button"
            aria-expanded={showMembers.value}
            aria-controls="members-panel"
            onClick={() => (showMembers.value = !showMembers.value)}
          >
            {t("members.toggle")}
          </button>
          <button id="join" type="button" hidden={room.member} disabled={busy} onClick={act(join)}>
            {t("room.join")}
          </button>
          <button id="leave" class="ghost small" type="button" hidden={!room.member} disabled={busy} onClick={act(leave)}>
            {t("room.leave")}
          </button>
        </div>
        {childOpen && <ChildForm room={room} close={() => setChildOpen(false)} />}
      </div>
      {showMembers.value && <Members room={room} close={() => (showMembers.value = false)} />}
      {ts && ts.room === room.id ? <Thread ts={ts} room={room} names={names} /> : <aside id="thread" class="thread" hidden />}
      <RoomInfo
        room={room}
        open={infoOpen}
        onClose={() => {
          setInfoOpen(false);
          document.getElementById("room-info-button")?.focus();
        }}
      />
      <ProfileCard />
    </section>
  );
}
