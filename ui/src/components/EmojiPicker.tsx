// The emoji picker: a searchable popover of every emoji (EmojiPanel.tsx),
// a chunk of its own loaded when a picker first opens, so the first
// screen does not wait for it.

import { lazy, Suspense } from "preact/compat";

export interface EmojiPickerProps {
  /** a chosen emoji, in canonical form (../emoji.ts canonical) */
  onPick(emoji: string): void;
  /** Escape, or a click outside: nothing chosen */
  onClose(): void;
  /** emoji shown as already chosen (your reactions on the message) */
  chosen?: (emoji: string) => boolean;
}

const Panel = lazy(() => import("./EmojiPanel"));

export function EmojiPicker(p: EmojiPickerProps) {
  return (
    <Suspense fallback={null}>
      <Panel {...p} />
    </Suspense>
  );
}
