// The settings dialog: language, theme, density, display name, picture,
// time zone, notifications (to come), signing out.

import { useEffect, useRef, useState } from "preact/hooks";
import { errorText, rename, signOut, uploadAvatar } from "../client";
import { lang, setLang, t, type Lang } from "../i18n";
import { me } from "../state/session";
import { setTheme, theme, type Theme } from "../theme";
import { density, setDensity, type Density } from "../density";
import { browserTimeZone } from "../people";
import { Avatar } from "./Avatar";
import "../styles/people.css";
import { loginHref } from "./Login";
import { closedByBrowser, closeQuietly } from "./modal";

export function Settings({ open, onClose }: { open: boolean; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  const user = me.value;
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      setError("");
      setSaved("");
      d.showModal();
    } else if (!open && d.open) closeQuietly(d);
  }, [open]);
  if (!user) return null;
  const run = async (fn: () => Promise<void>, done?: string) => {
    setError("");
    setSaved("");
    try {
      await fn();
      if (done) setSaved(done);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <dialog id="settings" ref={ref} class="settings" aria-labelledby="settings-heading" onClose={() => closedByBrowser(ref.current) && onClose()}>
      <div class="settings-head">
        <h2 id="settings-heading">{t("settings.heading")}</h2>
        <button type="button" class="ghost small" id="settings-close" onClick={onClose}>
          {t("settings.close")}
        </button>
      </div>
      <div class="field">
        <label for="language">{t("settings.language")}</label>
        <select id="language" value={lang.value} onChange={(ev) => setLang((ev.currentTarget as HTMLSelectElement).value as Lang)}>
          <option value="en">English</option>
          <option value="ja">日本語</option>
        </select>
      </div>
      <div class="field">
        <label for="theme">{t("settings.theme")}</label>
        <select id="theme" value={theme.value} onChange={(ev) => setTheme((ev.currentTarget as HTMLSelectElement).value as Theme)}>
          <option value="system">{t("settings.themeSystem")}</option>
          <option value="light">{t("settings.themeLight")}</option>
          <option value="dark">{t("settings.themeDark")}</option>
        </select>
      </div>
      <div class="field">
        <label for="density">{t("people.density")}</label>
        <select id="density" value={density.value} onChange={(ev) => setDensity((ev.currentTarget as HTMLSelectElement).value as Density)}>
          <option value="comfortable">{t("people.densityComfortable")}</option>
          <option value="compact">{t("people.densityCompact")}</option>
        </select>
      </div>
      <form
        class="field"
        onSubmit={(ev) => {
          ev.preventDefault();
          const input = (ev.currentTarget as HTMLFormElement).elements.namedItem("settings-name") as HTMLInputElement;
          const name = input.value.trim();
          if (name && name !== user.name) void run(() => rename(name), t("settings.nameSaved"));
        }}
      >
        <label for="settings-name">{t("settings.name")}</label>
        <div class="row">
          <input id="settings-name" name="settings-name" maxLength={64} required defaultValue={user.name} key={user.name} />
          <button type="submit" class="small">
            {t("settings.save")}
          </button>
        </div>
      </form>
      {!user.guest && (
        <div class="field">
          <span class="label" id="avatar-label">
            {t("settings.avatar")}
          </span>
          <div class="row">
            <Avatar user={user} size={48} />
            <label class="button ghost small file">
              {t("settings.avatarUpload")}
              <input
                id="avatar-input"
                type="file"
                accept="image/png,image/jpeg,image/gif,image/webp"
                class="visually-hidden"
                onChange={(ev) => {
                  const input = ev.currentTarget as HTMLInputElement;
                  const file = input.files?.[0];
                  input.value = "";
                  if (file) void run(() => uploadAvatar(file), t("settings.avatarSaved"));
                }}
              />
            </label>
          </div>
        </div>
      )}
      <div class="field">
        <span class="label" id="time-zone-label">
          {t("people.timeZone")}
        </span>
        <p id="time-zone" class="settings-value">
          {user.time_zone || browserTimeZone() || t("people.timeZoneUnknown")}
        </p>
        <p id="time-zone-help" class="muted small-print">
          {t("people.timeZoneAuto")}
        </p>
      </div>
      <section class="field settings-notifications" aria-labelledby="notifications-heading">
        <h3 id="notifications-heading" class="label">
          {t("people.notifications")}
        </h3>
        <p id="notifications-placeholder" class="muted small-print">
          {t("people.notificationsLater")}
        </p>
      </section>
      {user.guest && (
        <p class="muted">
          {t("settings.guest")}{" "}
          <a id="sign-in-link" href={loginHref()}>
            {t("login.signIn")}
          </a>
        </p>
      )}
      <p class="status-line" role="status">
        {saved}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="row sign-out">
        <button id="sign-out" type="button" class="ghost" onClick={() => void run(() => signOut(false))}>
          {t("settings.signOut")}
        </button>
        {!user.guest && (
          <button id="sign-out-all" type="button" class="ghost" title={t("settings.signOutAllTitle")} onClick={() => void run(() => signOut(true))}>
            {t("settings.signOutAll")}
          </button>
        )}
      </div>
    </dialog>
  );
}
