// The "?" sheet: every keyboard shortcut (../keys.ts SHORTCUTS), grouped,
// with the keys as <kbd> in the platform's names (⌘ on Apple's systems),
// and the switch for the one-character shortcuts.

import { Fragment } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { t } from "../i18n";
import { charKeys, GROUPS, isApple, keyLabel, setCharKeys, sheetOpen, SHORTCUTS, type KeyName } from "../keys";
import { closedByBrowser, closeQuietly } from "./modal";

/** Keys shows one combination: <kbd><kbd>Ctrl</kbd>+<kbd>K</kbd></kbd>. */
export function Keys({ combo, apple }: { combo: KeyName[]; apple: boolean }) {
  return (
    <kbd class="combo">
      {combo.map((k, i) => {
        const l = keyLabel(k, apple);
        return (
          <Fragment key={k}>
            {i > 0 && !apple && <span class="plus">+</span>}
            <kbd>
              {l.spoken ? (
                <>
                  <span aria-hidden="true">{l.cap}</span>
                  <span class="visually-hidden">{l.spoken}</span>
                </>
              ) : (
                l.cap
              )}
            </kbd>
          </Fragment>
        );
      })}
    </kbd>
  );
}

export function Shortcuts() {
  const ref = useRef<HTMLDialogElement>(null);
  const from = useRef<Element | null>(null);
  const open = sheetOpen.value;
  const apple = isApple();

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      from.current = document.activeElement;
      d.showModal();
      d.querySelector<HTMLElement>("#shortcuts-close")?.focus();
    } else if (!open && d.open) {
      closeQuietly(d);
      const back = from.current;
      from.current = null;
      if (back instanceof HTMLElement && back.isConnected && back !== document.body) back.focus();
    }
  }, [open]);

  const close = () => (sheetOpen.value = false);

  return (
    <dialog
      id="shortcuts"
      ref={ref}
      class="shortcuts"
      aria-labelledby="shortcuts-heading"
      onCancel={(ev) => {
        ev.preventDefault();
        close();
      }}
      onClose={() => {
        if (closedByBrowser(ref.current) && sheetOpen.value) close();
      }}
      onClick={(ev) => {
        if (ev.target === ref.current) close();
      }}
    >
      <div class="shortcuts-head">
        <h2 id="shortcuts-heading">{t("keys.sheet.heading")}</h2>
        <button type="button" id="shortcuts-close" class="ghost small" onClick={close}>
          {t("keys.sheet.close")}
        </button>
      </div>
      {open &&
        GROUPS.map((g) => {
          const rows = SHORTCUTS.filter((s) => s.group === g.id);
          if (rows.length === 0) return null;
          return (
            <section key={g.id} class="shortcut-group" aria-labelledby={`shortcuts-${g.id}`}>
              <h3 id={`shortcuts-${g.id}`}>{t(g.label)}</h3>
              <dl>
                {rows.map((s) => (
                  <div key={s.label} class="shortcut">
                    <dt>{t(s.label)}</dt>
                    <dd>
                      {s.keys.map((combo, i) => (
                        <Fragment key={i}>
                          {i > 0 && <span class="or"> / </span>}
                          <Keys combo={combo} apple={apple} />
                        </Fragment>
                      ))}
                    </dd>
                  </div>
                ))}
              </dl>
            </section>
          );
        })}
      <label class="check char-keys">
        <input id="char-keys" type="checkbox" checked={charKeys.value} onChange={(ev) => setCharKeys(ev.currentTarget.checked)} />{" "}
        {t("keys.sheet.charKeys")}
      </label>
    </dialog>
  );
}
