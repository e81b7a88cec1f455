// The density of the message list and the sidebar: comfortable or compact,
// as data-density on <html>; remembered in localStorage (styles/people.css).

import { effect, signal } from "@preact/signals";

export type Density = "comfortable" | "compact";
const STORE = "hanashi.density";

function stored(): Density {
  try {
    if (localStorage.getItem(STORE) === "compact") return "compact";
  } catch {
    // private mode
  }
  return "comfortable";
}

export const density = signal<Density>(stored());

export function setDensity(v: Density): void {
  density.value = v;
  try {
    localStorage.setItem(STORE, v);
  } catch {
    // private mode: it lasts as long as the page
  }
}

effect(() => {
  document.documentElement.dataset.density = density.value;
});
