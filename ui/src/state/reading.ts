// Where the reader is asked to go: the message a permalink names, once its
// list has it. The list whose id is `list` (#messages, #thread-messages)
// scrolls it into view, focuses and marks it, then clears this.

import { signal } from "@preact/signals";

export interface Target {
  /** the id of the message list: "messages" or "thread-messages" */
  list: string;
  /** the message's id */
  id: string;
  /** a new number for every request, so that the same link twice is two requests */
  n: number;
}

export const target = signal<Target | null>(null);

let count = 0;

/** goTo asks list to show message id. */
export function goTo(list: string, id: string): void {
  target.value = { list, id, n: ++count };
}
