// The quick switcher and the shortcuts sheet, loaded apart from the main
// bundle: when the page is idle (App asks), or at once when either is
// opened before that. Their styles are in the main bundle: the top bar's
// buttons need them from the start.

import { signal, useSignalEffect } from "@preact/signals";
import type { FunctionComponent } from "preact";
import { sheetOpen, switcherOpen } from "../keys";
import "../styles/keys.css";

const loaded = signal<FunctionComponent | null>(null);
let loading: Promise<void> | null = null;

export function loadKeysDialogs(): Promise<void> {
  loading ??= Promise.all([import("./QuickSwitcher"), import("./Shortcuts")]).then(
    ([q, s]) => {
      loaded.value = () => (
        <>
          <q.QuickSwitcher />
          <s.Shortcuts />
        </>
      );
    },
    (err: unknown) => {
      loading = null; // offline: the next open tries again
      console.error(err);
      switcherOpen.value = false;
      sheetOpen.value = false;
    },
  );
  return loading;
}

export function KeysDialogs() {
  useSignalEffect(() => {
    if (switcherOpen.value || sheetOpen.value) void loadKeysDialogs();
  });
  const Dialogs = loaded.value;
  return Dialogs ? <Dialogs /> : null;
}
