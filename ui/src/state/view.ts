// What is on screen: the open room with its messages, the thread panel, and
// the sends not yet acknowledged (the outbox, shown as pending).

import { signal } from "@preact/signals";
import type { Message } from "../types";
import type { OutboxEntry } from "../outbox";
import { MessageList } from "./fold";

/** An opened room: its top-level messages with the changes folded in. */
export class RoomState {
  readonly list = new MessageList();
  loading = false;
  loadingOlder = false;
  /** stream events that came while the history loaded */
  buffer: Message[] = [];
  /** bumped when the list changed */
  readonly rev = signal(0);
  /** an error to show over the composer */
  readonly error = signal("");
  /** the read marker when the room was opened: a "new" line follows it (-1: none) */
  readonly newAfter = signal(-1);
  constructor(readonly id: number) {}
  bump(): void {
    this.rev.value++;
  }
}

/** The thread in the panel: its root and a page of replies. */
export class ThreadState {
  readonly list = new MessageList();
  readonly root = signal<Message | null>(null);
  readonly rev = signal(0);
  readonly error = signal("");
  /** the highest reply seq whose read marker was sent */
  marked = 0;
  /** stream events that came while the thread loaded */
  buffer: Message[] = [];
  constructor(
    readonly room: number,
    readonly rootId: string,
  ) {}
  bump(): void {
    this.rev.value++;
  }
}

export const open = new Map<number, RoomState>();
export const current = signal<number | null>(null);
export const currentRoom = signal<RoomState | null>(null);
export const thread = signal<ThreadState | null>(null);

/** the outbox entries of messages and replies, for the pending view */
export const pending = signal<readonly OutboxEntry[]>([]);

/** an error about a room that is not the open one (a refused link) */
export const banner = signal("");

/** the id of the message being edited (one at a time) */
export const editing = signal<string | null>(null);
let editFrom: Element | null = null;

/** startEditing opens the editor of message id; the keyboard comes back where it was. */
export function startEditing(id: string): void {
  editFrom = document.activeElement;
  editing.value = id;
}

/** stopEditing closes the editor and gives the keyboard back (to the message, if where it was is gone). */
export function stopEditing(message: HTMLElement | null): void {
  const back = editFrom instanceof HTMLElement && editFrom.isConnected && !editFrom.closest(".edit-form") ? editFrom : message;
  editing.value = null;
  editFrom = null;
  back?.focus();
}

/** a short text for the live region: "alice: hello" */
export const announcement = signal("");
