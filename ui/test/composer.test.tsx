// IME: Enter while an input method composes never sends.

import "fake-indexeddb/auto";
import { render } from "preact";
import { describe, expect, it, vi } from "vitest";
import { Composer, sendsOnEnter } from "../src/components/Composer";

function key(init: KeyboardEventInit & { keyCode?: number }): KeyboardEvent {
  const ev = new KeyboardEvent("keydown", { bubbles: true, cancelable: true, ...init });
  if (init.keyCode !== undefined) Object.defineProperty(ev, "keyCode", { value: init.keyCode });
  return ev;
}

describe("sendsOnEnter", () => {
  it("Enter sends; Shift+Enter, composing Enter and keyCode 229 do not", () => {
    expect(sendsOnEnter(key({ key: "Enter" }), false)).toBe(true);
    expect(sendsOnEnter(key({ key: "Enter", shiftKey: true }), false)).toBe(false);
    expect(sendsOnEnter(key({ key: "Enter", isComposing: true }), false)).toBe(false);
    expect(sendsOnEnter(key({ key: "Enter", keyCode: 229 }), false)).toBe(false);
    expect(sendsOnEnter(key({ key: "Enter" }), true)).toBe(false);
    expect(sendsOnEnter(key({ key: "a" }), false)).toBe(false);
  });
});

describe("Composer", () => {
  function setup() {
    const div = document.createElement("div");
    document.body.append(div);
    const onSend = vi.fn();
    render(<Composer draft={"t" + Math.random()} formId="f" inputId="c" sendId="s" label="Message" placeholder="" sendLabel="Send" onSend={onSend} />, div);
    const ta = div.querySelector("textarea")!;
    const form = div.querySelector("form")!;
    // happy-dom's requestSubmit does not always fire submit: do it by hand
    form.requestSubmit = () => void form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    return { ta, onSend };
  }

  it("does not send half-typed Japanese between compositionstart and compositionend", () => {
    const { ta, onSend } = setup();
    ta.value = "にほんご";
    ta.dispatchEvent(new CompositionEvent("compositionstart", { bubbles: true }));
    ta.dispatchEvent(key({ key: "Enter" }));
    ta.dispatchEvent(key({ key: "Enter", isComposing: true }));
    expect(onSend).not.toHaveBeenCalled();
    ta.dispatchEvent(new CompositionEvent("compositionend", { bubbles: true, data: "日本語" }));
    ta.value = "日本語";
    ta.dispatchEvent(key({ key: "Enter", keyCode: 229 })); // the Enter that confirms, in some browsers
    expect(onSend).not.toHaveBeenCalled();
    ta.dispatchEvent(key({ key: "Enter" }));
    expect(onSend).toHaveBeenCalledWith("日本語");
    expect(ta.value).toBe("");
  });

  it("Shift+Enter is a new line, white space alone is not sent", () => {
    const { ta, onSend } = setup();
    ta.value = "  ";
    ta.dispatchEvent(key({ key: "Enter" }));
    const shift = key({ key: "Enter", shiftKey: true });
    ta.dispatchEvent(shift);
    expect(shift.defaultPrevented).toBe(false);
    expect(onSend).not.toHaveBeenCalled();
  });
});

describe("drafts", () => {
  it("what is typed stays with its room, and goes when sent", () => {
    const div = document.createElement("div");
    document.body.append(div);
    const onSend = vi.fn();
    const show = (draft: string) =>
      render(<Composer draft={draft} formId="f" inputId="c" sendId="s" label="Message" placeholder="" sendLabel="Send" onSend={onSend} />, div);
    show("room:1");
    const ta = div.querySelector("textarea")!;
    ta.value = "half a thought";
    ta.dispatchEvent(new Event("input", { bubbles: true }));
    show("room:2");
    expect(div.querySelector("textarea")!.value).toBe("");
    show("room:1");
    expect(div.querySelector("textarea")!.value).toBe("half a thought");
    const form = div.querySelector("form")!;
    form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    expect(onSend).toHaveBeenCalledWith("half a thought");
    show("room:2");
    show("room:1");
    expect(div.querySelector("textarea")!.value).toBe("");
  });
});

describe("ArrowUp", () => {
  it("in an empty composer edits the last message; with text it moves the caret", () => {
    const div = document.createElement("div");
    document.body.append(div);
    const onEditLast = vi.fn(() => true);
    render(<Composer draft={"u" + Math.random()} formId="f" inputId="c" sendId="s" label="Message" placeholder="" sendLabel="Send" onSend={() => {}} onEditLast={onEditLast} />, div);
    const ta = div.querySelector("textarea")!;
    const up = key({ key: "ArrowUp" });
    ta.dispatchEvent(up);
    expect(onEditLast).toHaveBeenCalledTimes(1);
    expect(up.defaultPrevented).toBe(true);
    ta.value = "text";
    const again = key({ key: "ArrowUp" });
    ta.dispatchEvent(again);
    expect(onEditLast).toHaveBeenCalledTimes(1);
    expect(again.defaultPrevented).toBe(false);
  });
});
