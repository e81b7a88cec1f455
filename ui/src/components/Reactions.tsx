// A message's reactions: one button per emoji with its count, pressed when
// one of them is yours; who reacted is in its title.

import { changeMessage } from "../client";
import { t } from "../i18n";
import { people } from "../state/rooms";
import type { Message as Msg } from "../types";

function who(ids: string[], count: number): string {
  const names = ids.map((id) => people.get(id)?.name ?? t("reaction.someone"));
  if (count > names.length) names.push(t("reaction.more", { count: count - names.length }));
  return names.join(", ");
}

export function Reactions({ m, member }: { m: Msg; member: boolean }) {
  if (m.deleted || !m.reactions?.length) return null;
  return (
    <div class="reactions">
      {m.reactions.map((r) => (
        <button
          key={r.emoji}
          type="button"
          tabIndex={-1}
          class={r.mine ? "reaction mine" : "reaction"}
          data-emoji={r.emoji}
          data-count={String(r.count)}
          aria-pressed={r.mine}
          disabled={!member}
          title={t("reaction.title", { who: who(r.users, r.count), emoji: r.emoji })}
          onClick={() => changeMessage(m, r.mine ? "unreact" : "react", r.emoji)}
        >
          {r.emoji} {r.count}
        </button>
      ))}
    </div>
  );
}

