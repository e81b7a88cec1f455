// Closing a modal <dialog> from code: its close event comes a task later,
// and input can come before it (the browser runs input first). By then
// the dialog may be on its way open again; a handler that took that late
// event for the browser's own closing (Escape, say) would shut it again.

const quiet = new WeakSet<HTMLDialogElement>();

/** closeQuietly closes d (open) from code: its close event is not the browser's. */
export function closeQuietly(d: HTMLDialogElement): void {
  quiet.add(d);
  d.close();
}

/** closedByBrowser tells, in d's close event, whether the browser closed it (not closeQuietly). */
export function closedByBrowser(d: HTMLDialogElement | null): boolean {
  if (!d) return false;
  if (quiet.has(d)) {
    quiet.delete(d);
    return false;
  }
  return !d.open;
}
