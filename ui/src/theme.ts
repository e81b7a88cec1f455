// The colour theme: the system's (prefers-color-scheme), light or dark, as
// data-theme on <html>; remembered in localStorage.

import { effect, signal } from "@preact/signals";

export type Theme = "system" | "light" | "dark";
const STORE = "hanashi.theme";

function stored(): Theme {
  try {
    const v = localStorage.getItem(STORE);
    if (v === "light" || v === "dark") return v;
  } catch {
    // private mode
  }
  return "system";
}

export const theme = signal<Theme>(stored());

export function setTheme(v: Theme): void {
  theme.value = v;
  try {
    localStorage.setItem(STORE, v);
  } catch {
    // private mode: it lasts as long as the page
  }
}

effect(() => {
  document.documentElement.dataset.theme = theme.value;
});
