import { effect } from "@preact/signals";
import { render } from "preact";
import "./styles/base.css";
import "./styles/layout.css";
import "./styles/messages.css";
import { start } from "./app";
import { App } from "./components/App";
import { lang } from "./i18n";
import "./theme";

effect(() => {
  document.documentElement.lang = lang.value;
});

render(<App />, document.getElementById("app")!);
void start();
