// The room info: the room's name and topic (members change it), its
// members with their presence, adding people, leaving. A side sheet beside
// the room, the whole screen on phones; a modal dialog either way, so the
// keyboard stays in it and Escape closes it.

import { useEffect, useRef, useState } from "preact/hooks";
import { errorText, leave } from "../client";
import { addMember, setTopic } from "../client/people";
import { t } from "../i18n";
import { isDirect, members, title } from "../state/rooms";
import { me } from "../state/session";
import type { Author, Room } from "../types";
import { MemberList } from "./Members";
import { closedByBrowser, closeQuietly } from "./modal";
import { usePeopleSearch } from "./peopleSearch";
import "../styles/people.css";

export const MAX_TOPIC = 250;

function TopicForm({ room, done, saved }: { room: Room; done(): void; saved(): void }) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const submit = async (ev?: Event) => {
    ev?.preventDefault();
    setError("");
    setBusy(true);
    try {
      await setTopic(room.id, ref.current?.value ?? "");
      saved();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <form id="topic-form" class="topic-form" onSubmit={(ev) => void submit(ev)}>
      <label for="topic-input" class="visually-hidden">
        {t("people.topicLabel")}
      </label>
      <textarea
        id="topic-input"
        ref={ref}
        rows={3}
        maxLength={MAX_TOPIC}
        defaultValue={room.topic ?? ""}
        aria-describedby="topic-help"
        onKeyDown={(ev) => {
          // One line: Enter saves (not while an input method composes).
          if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
            ev.preventDefault();
            void submit();
          } else if (ev.key === "Escape" && !ev.isComposing) {
            ev.preventDefault();
            ev.stopPropagation();
            done();
          }
        }}
      />
      <p id="topic-help" class="muted small-print">
        {t("people.topicHelp")}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="row">
        <button id="topic-save" type="submit" class="small" disabled={busy}>
          {t("people.topicSave")}
        </button>
        <button id="topic-cancel" type="button" class="ghost small" onClick={done}>
          {t("people.topicCancel")}
        </button>
      </div>
    </form>
  );
}

function AddPeople({ room, said }: { room: Room; said(text: string): void }) {
  const { input, results, error, setError, clear, onSubmit, onInput } = usePeopleSearch();
  const present = new Set((members.value.get(room.id) ?? []).map((m) => m.id));
  const add = async (u: Author) => {
    setError("");
    try {
      await addMember(room.id, u.id);
      said(t("people.added", { name: u.name }));
      clear();
      input.current?.focus();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const shown = results?.filter((u) => !present.has(u.id));
  return (
    <form
      id="add-people"
      class="add-people"
      role="search"
      autocomplete="off"
      onSubmit={onSubmit}
    >
      <label for="add-people-input">{t("people.addPeople")}</label>
      <input
        id="add-people-input"
        ref={input}
        maxLength={64}
        placeholder={t("people.addSearch")}
        onInput={onInput}
      />
      <ul id="add-people-results" class="add-people-results" aria-live="polite">
        {shown?.length === 0 && <li class="muted">{t("people.nobody")}</li>}
        {shown?.map((u) => (
          <li key={u.id}>
            <button type="button" class="ghost small add-person" data-user-id={u.id} onClick={() => void add(u)}>
              {t("people.add", { name: u.name })}
            </button>
          </li>
        ))}
      </ul>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

export function RoomInfo({ room, open, onClose }: { room: Room; open: boolean; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [editing, setEditing] = useState(false);
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");
  const user = me.value;
  const list = members.value.get(room.id);
  const direct = isDirect(room);

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      setEditing(false);
      setStatus("");
      setError("");
      d.showModal();
    } else if (!open && d.open) closeQuietly(d);
  }, [open]);

  const editButton = useRef<HTMLButtonElement>(null);
  const stopEditing = () => {
    setEditing(false);
    setTimeout(() => editButton.current?.focus(), 0);
  };

  return (
    <dialog
      id="room-info"
      ref={ref}
      class="room-info"
      aria-labelledby="room-info-heading"
      onClose={() => closedByBrowser(ref.current) && onClose()}
      onKeyDown={(ev) => {
        // Escape closes the sheet, and nothing behind it sees the key.
        if (ev.key === "Escape") ev.stopPropagation();
      }}
    >
      <div class="room-info-head">
        <h2 id="room-info-heading">{title(room, list, user?.id)}</h2>
        <button type="button" class="ghost small" id="room-info-close" onClick={onClose}>
          {t("people.roomInfoClose")}
        </button>
      </div>

      <section class="room-info-section" aria-labelledby="room-info-topic-heading">
        <h3 id="room-info-topic-heading">{t("people.topic")}</h3>
        {editing ? (
          <TopicForm
            room={room}
            done={stopEditing}
            saved={() => {
              setStatus(t("people.topicSaved"));
              stopEditing();
            }}
          />
        ) : (
          <>
            <p id="room-info-topic" class={room.topic ? "room-info-topic" : "room-info-topic muted"}>
              {room.topic || t("people.noTopic")}
            </p>
            {room.member && (
              <button id="topic-edit" ref={editButton} type="button" class="ghost small" onClick={() => setEditing(true)}>
                {room.topic ? t("people.editTopic") : t("people.setTopic")}
              </button>
            )}
          </>
        )}
      </section>

      <section class="room-info-section" aria-labelledby="room-info-members-heading">
        <h3 id="room-info-members-heading">{t("members.heading", { count: list?.length ?? 0 })}</h3>
        <MemberList room={room} listId="room-info-members" labelledBy="room-info-members-heading" />
        {room.member && !direct && <AddPeople room={room} said={setStatus} />}
      </section>

      {/* Pinned messages (the moderation issue): a section here, shown
          only when the room has pins. */}

      <p class="status-line" role="status">
        {status}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {room.member && !direct && (
        <div class="room-info-foot">
          <button
            id="room-info-leave"
            type="button"
            class="ghost danger"
            onClick={async () => {
              setError("");
              try {
                await leave();
                onClose();
              } catch (err) {
                setError(errorText(err));
              }
            }}
          >
            {t("people.leave")}
          </button>
        </div>
      )}
    </dialog>
  );
}
