import { effect } from "@preact/signals";
import { render } from "preact";
import "./styles/base.css";
import "./styles/layout.css";
import "./styles/messages.css";
import { start } from "./client";
import { App } from "./components/App";
import { lang } from "./i18n";
import "./theme";
import { startTitle } from "./title";

effect(() => {
  document.documentElement.lang = lang.value;
});

render(<App />, document.getElementById("app")!);
void start();
startTitle();

// The composer stays above the on-screen keyboard: where the browser does
// not resize the layout for it (interactive-widget), the page takes the
// height of the visual viewport.
const vv = window.visualViewport;
if (vv) {
  const fit = () => document.documentElement.style.setProperty("--app-height", `${Math.round(vv.height)}px`);
  vv.addEventListener("resize", fit);
  fit();
}
