// The emoji picker: today the six common reactions. A searchable picker
// over emojibase's data (../emoji.ts), with skin tones and the recently
// used, takes this component's place with the same props.

import { EMOJI } from "../client";
import { t } from "../i18n";

export interface EmojiPickerProps {
  /** a chosen emoji, in canonical form (../emoji.ts canonical) */
  onPick(emoji: string): void;
  /** Escape, or a click outside: nothing chosen */
  onClose(): void;
  /** emoji shown as already chosen (your reactions on the message) */
  chosen?: (emoji: string) => boolean;
}

export function EmojiPicker({ onPick, chosen }: EmojiPickerProps) {
  return (
    <div class="picker" role="group" aria-label={t("reaction.picker")}>
      {EMOJI.map((e) => {
        const mine = chosen?.(e) ?? false;
        return (
          <button
            key={e}
            type="button"
            tabIndex={-1}
            class={mine ? "ghost small pick mine" : "ghost small pick"}
            data-emoji={e}
            aria-pressed={mine}
            aria-label={t("reaction.add", { emoji: e })}
            onClick={() => onPick(e)}
          >
            {e}
          </button>
        );
      })}
    </div>
  );
}
