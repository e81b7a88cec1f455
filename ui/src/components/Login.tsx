import { useState } from "preact/hooks";
import { errorText, guestSignIn } from "../client";
import { t } from "../i18n";
import { notice } from "../state/session";

/** loginHref is the server's sign-in page, coming back to where we are. */
export function loginHref(): string {
  return "login?next=" + encodeURIComponent("/" + location.hash);
}

export function Login() {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const why = notice.value;
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const input = (ev.currentTarget as HTMLFormElement).elements.namedItem("name") as HTMLInputElement;
    const name = input.value.trim();
    if (!name) return;
    setBusy(true);
    setError("");
    try {
      await guestSignIn(name);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const text = error || (why === "ended" ? t("login.ended") : why === "everywhere" ? t("login.everywhere") : "");
  return (
    <main id="login" class="login">
      <form id="name-form" class="card" autocomplete="off" onSubmit={submit}>
        <h1>{t("login.welcome")}</h1>
        <p class="muted">
          <a id="login-link" href={loginHref()}>
            {t("login.signIn")}
          </a>
          {t("login.orGuest")}
        </p>
        <label for="name-input">{t("login.name")}</label>
        <input id="name-input" name="name" maxLength={64} required autofocus placeholder={t("login.namePlaceholder")} />
        <button id="name-submit" type="submit" disabled={busy}>
          {t("login.start")}
        </button>
        <p id="login-error" class="error" role="alert" hidden={!text}>
          {text}
        </p>
      </form>
    </main>
  );
}
