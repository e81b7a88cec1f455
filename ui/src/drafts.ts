// Drafts: what was typed in a composer and not sent, per signed-in user and
// per room or thread, kept in localStorage so that a reload (or a crash)
// loses nothing. Writes wait for a pause in the typing; the page's memory
// has the latest text at once. A send removes the draft; signing out
// removes every draft of the user (on a shared computer, the next person
// must not find them).

/** The part of Storage drafts use (localStorage, or a fake in tests). */
export interface DraftStorage {
  readonly length: number;
  key(i: number): string | null;
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}

const PREFIX = "hanashi.draft.";

function storageKey(user: string, draft: string): string {
  return `${PREFIX}${user}.${draft}`;
}

export class Drafts {
  private readonly memory = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly storage: DraftStorage | null,
    private readonly delay = 500,
  ) {}

  /** get is the draft of user in draft ("room:3", "thread:3:<root>"), or "". */
  get(user: string, draft: string): string {
    const k = storageKey(user, draft);
    const m = this.memory.get(k);
    if (m !== undefined) return m;
    try {
      return this.storage?.getItem(k) ?? "";
    } catch {
      return "";
    }
  }

  /** set keeps text at once in memory, and in storage after a pause. */
  set(user: string, draft: string, text: string): void {
    const k = storageKey(user, draft);
    this.memory.set(k, text);
    this.dirty.add(k);
    if (this.timer === null) this.timer = setTimeout(() => this.flush(), this.delay);
  }

  /** remove forgets a draft (it was sent). */
  remove(user: string, draft: string): void {
    const k = storageKey(user, draft);
    this.memory.delete(k);
    this.dirty.delete(k);
    this.write(k, "");
  }

  /** flush writes what waits (the page is going away, or the pause is over). */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const k of this.dirty) this.write(k, this.memory.get(k) ?? "");
    this.dirty.clear();
  }

  /** clear forgets every draft of user (signing out). */
  clear(user: string): void {
    const prefix = storageKey(user, "");
    for (const k of [...this.memory.keys()]) if (k.startsWith(prefix)) this.memory.delete(k);
    for (const k of [...this.dirty]) if (k.startsWith(prefix)) this.dirty.delete(k);
    if (!this.storage) return;
    try {
      const gone: string[] = [];
      for (let i = 0; i < this.storage.length; i++) {
        const k = this.storage.key(i);
        if (k?.startsWith(prefix)) gone.push(k);
      }
      for (const k of gone) this.storage.removeItem(k);
    } catch {
      // storage unavailable: nothing was kept there
    }
  }

  private write(k: string, text: string): void {
    try {
      if (text.trim() === "") this.storage?.removeItem(k);
      else this.storage?.setItem(k, text);
    } catch {
      // full or unavailable (private mode): the draft lives as long as the page
    }
  }
}

function localStore(): DraftStorage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // access denied by the browser's settings
  }
}

/** The page's drafts. */
export const drafts = new Drafts(localStore());

if (typeof addEventListener === "function") {
  // The last keystrokes before a reload or a closed tab are kept too.
  addEventListener("pagehide", () => drafts.flush());
  addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") drafts.flush();
  });
}
