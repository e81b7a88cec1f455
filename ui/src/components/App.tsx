// The page: the sign-in screen, or the chat (top bar, sidebar, room).

import { useSignalEffect } from "@preact/signals";
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n";
import { booted, conn, me, wasConnected } from "../state/session";
import { announcement, banner, current, currentRoom } from "../state/view";
import { Avatar } from "./Avatar";
import { Login } from "./Login";
import { ariaKeys, installKeys, isApple, sheetOpen, switcherOpen } from "../keys";
import { KeysDialogs, loadKeysDialogs } from "./KeysDialogs";
import { RoomView } from "./RoomView";
import { Settings } from "./Settings";
import { Sidebar } from "./Sidebar";

function Status({ signedOut = false }: { signedOut?: boolean }) {
  const state = signedOut ? "offline" : conn.value;
  let text = t("status.offline");
  if (signedOut) text = t("status.signedOut");
  else if (state === "connected") text = t("status.connected");
  else if (state === "connecting") text = t("status.connecting");
  else if (wasConnected.value) text = t("status.reconnecting");
  return (
    <span id="status" class={signedOut ? "status signed-out" : "status"} data-state={state} role="status">
      {text}
    </span>
  );
}

function Announcer() {
  // Re-announcing the same text needs a change: clear, then set.
  const [text, setText] = useState("");
  useSignalEffect(() => {
    const next = announcement.value;
    setText("");
    if (!next) return;
    const timer = setTimeout(() => setText(next), 50);
    return () => clearTimeout(timer);
  });
  return (
    <div id="announcer" class="visually-hidden" aria-live="polite" aria-atomic="true">
      {text}
    </div>
  );
}

function Empty() {
  return (
    <div id="empty" class="empty">
      <p>{t("room.none")}</p>
      <p id="room-error-live" class="error" role="alert" hidden={!banner.value}>
        {banner.value}
      </p>
    </div>
  );
}

function Shell() {
  const user = me.value!;
  const [drawer, setDrawer] = useState(false);
  const [settings, setSettings] = useState(false);
  const menu = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);

  // Picking a room closes the drawer.
  useSignalEffect(() => {
    current.value;
    setDrawer(false);
  });
  // A window grown past phone width has no drawer.
  useEffect(() => {
    const narrow = matchMedia("(max-width: 760px)");
    const change = () => {
      if (!narrow.matches) setDrawer(false);
    };
    narrow.addEventListener("change", change);
    return () => narrow.removeEventListener("change", change);
  }, []);
  useEffect(() => {
    if (drawer) {
      wasOpen.current = true;
      const first = document.querySelector<HTMLElement>("#sidebar .room.active, #sidebar .room, #sidebar input");
      first?.focus();
    } else if (wasOpen.current) {
      wasOpen.current = false;
      if (document.activeElement === document.body || document.activeElement?.closest("#sidebar")) menu.current?.focus();
    }
  }, [drawer]);

  // The page-wide keyboard shortcuts (../keys.ts); their dialogs' code
  // comes when the page is idle, or at once when one is asked for.
  useEffect(() => installKeys(), []);
  useEffect(() => {
    const idle = window.requestIdleCallback ?? ((f: () => void) => window.setTimeout(f, 1500));
    idle(() => void loadKeysDialogs());
  }, []);

  const skip = (ev: MouseEvent) => {
    const c = document.getElementById("composer") as HTMLTextAreaElement | null;
    ev.preventDefault();
    if (c && !c.disabled) c.focus();
    else document.querySelector<HTMLElement>("#main button, #sidebar .room, #room-name")?.focus();
  };

  return (
    <div class={drawer ? "shell drawer-open" : "shell"}>
      <a class="skip-link" href={currentRoom.value ? "#composer" : "#main"} onClick={skip}>
        {t("skip.composer")}
      </a>
      {/* While the drawer is open (phones), the room behind it is out of reach. */}
      <main class="chat" id="main" tabIndex={-1} inert={drawer}>
        {currentRoom.value ? <RoomView /> : <Empty />}
      </main>
      <header class="topbar">
        <button
          id="menu-button"
          ref={menu}
          type="button"
          class="icon-button menu-button"
          aria-expanded={drawer}
          aria-controls="sidebar"
          aria-label={t("menu.label")}
          onClick={() => setDrawer(!drawer)}
        >
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M3 6h18M3 12h18M3 18h18" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
          </svg>
        </button>
        <h1 class="brand">Hanashi</h1>
        <Status />
        <span class="spacer" />
        <button
          id="switcher-button"
          type="button"
          class="icon-button"
          aria-haspopup="dialog"
          aria-expanded={switcherOpen.value}
          aria-keyshortcuts={ariaKeys(["Mod", "K"])}
          aria-label={t("keys.switcher.open")}
          title={`${t("keys.switcher.open")} (${isApple() ? "⌘K" : "Ctrl+K"})`}
          onClick={() => (switcherOpen.value = true)}
        >
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <circle cx="10.5" cy="10.5" r="6.5" fill="none" stroke="currentColor" stroke-width="2" />
            <path d="m15.5 15.5 5 5" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
          </svg>
        </button>
        <button
          id="shortcuts-button"
          type="button"
          class="icon-button shortcuts-button"
          aria-haspopup="dialog"
          aria-expanded={sheetOpen.value}
          aria-keyshortcuts="Shift+?"
          aria-label={t("keys.sheet.open")}
          title={`${t("keys.sheet.open")} (?)`}
          onClick={() => (sheetOpen.value = true)}
        >
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <rect x="2.5" y="6" width="19" height="12" rx="2" fill="none" stroke="currentColor" stroke-width="1.8" />
            <path d="M6 10h1.5M9.5 10H11M13 10h1.5M16.5 10H18M8 14h8" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
          </svg>
        </button>
        <Avatar user={user} id="me-avatar" size={28} />
        <span id="me">
          {user.name}
        </span>
        <button
          id="settings-button"
          type="button"
          class="icon-button"
          aria-haspopup="dialog"
          aria-expanded={settings}
          aria-label={t("settings.open")}
          title={t("settings.open")}
          onClick={() => setSettings(true)}
        >
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path
              fill="currentColor"
              d="M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7.3 7.3 0 0 0-1.7-1L15 3.2h-4l-.4 2.7a7.3 7.3 0 0 0-1.7 1l-2.5-1-2 3.5L6.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1a7.3 7.3 0 0 0 1.7 1l.4 2.7h4l.4-2.7a7.3 7.3 0 0 0 1.7-1l2.5 1 2-3.5zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z"
              transform="translate(-1 0)"
            />
          </svg>
        </button>
      </header>
      <Sidebar open={drawer} onClose={() => setDrawer(false)} />
      {drawer && <div class="backdrop" aria-hidden="true" onClick={() => setDrawer(false)} />}
      <Settings open={settings} onClose={() => setSettings(false)} />
      <KeysDialogs />
      <Announcer />
    </div>
  );
}

export function App() {
  if (!booted.value) {
    return (
      <div class="boot" role="status">
        <Status />
      </div>
    );
  }
  if (!me.value) {
    return (
      <>
        <header class="topbar">
          <span class="brand">Hanashi</span>
          <Status signedOut />
        </header>
        <Login />
      </>
    );
  }
  return <Shell />;
}
