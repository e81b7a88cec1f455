// The members of a room with their presence: the members panel beside the
// room, and the list the room info shows. A member opens their profile
// card.

import { t } from "../i18n";
import { presence } from "../state/presence";
import { members } from "../state/rooms";
import { away, me } from "../state/session";
import type { Room } from "../types";
import { Avatar } from "./Avatar";
import { openProfile } from "./ProfileCard";

/** MemberList is a room's members as a list, with the id listId. */
export function MemberList({ room, listId, labelledBy }: { room: Room; listId: string; labelledBy?: string }) {
  const list = members.value.get(room.id) ?? [];
  const user = me.value;
  const states = presence.value;
  const label = { online: t("presence.online"), away: t("presence.away"), offline: t("presence.offline") };
  return (
    <ul id={listId} class="members" aria-labelledby={labelledBy}>
      {list.map((m) => {
        // Nobody is told of their own presence: this page is it.
        const state = m.id === user?.id ? (away.value ? "away" : "online") : (states.get(m.id) ?? "offline");
        return (
          <li key={m.id} class="member" data-user-id={m.id} data-presence={state}>
            <button type="button" class="member-button" aria-haspopup="dialog" onClick={(ev) => openProfile(m, ev.currentTarget)}>
              <span class="member-avatar">
                <Avatar user={m} size={24} />
                <span class="presence" data-state={state} aria-hidden="true" title={label[state]} />
              </span>
              <span class="member-name">{m.name}</span>
              <span class="visually-hidden">, {label[state]}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

export function Members({ room, close }: { room: Room; close(): void }) {
  const list = members.value.get(room.id) ?? [];
  return (
    <aside
      id="members-panel"
      class="members-panel"
      aria-labelledby="members-heading"
      onKeyDown={(ev) => {
        if (ev.key === "Escape") {
          ev.preventDefault();
          close();
          document.getElementById("members-toggle")?.focus();
        }
      }}
    >
      <h3 id="members-heading">{t("members.heading", { count: list.length })}</h3>
      <MemberList room={room} listId="members" />
    </aside>
  );
}
