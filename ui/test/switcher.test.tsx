// The quick switcher as a component: the combobox's ARIA, the arrow keys,
// and the people search: debounced, an answer to an older query dropped,
// never asked for a guest.

import "fake-indexeddb/auto";
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Author } from "../src/types";

const search = vi.hoisted(() => ({ fn: vi.fn<(q: string) => Promise<Author[]>>() }));
vi.mock("../src/client", async (orig) => ({ ...(await orig<typeof import("../src/client")>()), searchPeople: (q: string) => search.fn(q) }));

import { QuickSwitcher } from "../src/components/QuickSwitcher";
import { switcherOpen } from "../src/keys";
import { putRoom, rooms } from "../src/state/rooms";
import { me } from "../src/state/session";

const room = (id: number, name: string) => ({ id, name, private: false, created_by: "x", created_at: "", last_seq: 0, member: true });

describe("QuickSwitcher", () => {
  let div: HTMLDivElement;
  beforeEach(() => {
    vi.useFakeTimers();
    search.fn.mockReset();
    div = document.createElement("div");
    document.body.append(div);
    act(() => {
      me.value = { id: "me", name: "me", avatar_url: "" };
      putRoom(room(1, "general"));
      putRoom(room(2, "random"));
      putRoom(room(3, "design"));
      render(<QuickSwitcher />, div);
      switcherOpen.value = true;
    });
  });
  afterEach(() => {
    act(() => {
      switcherOpen.value = false;
      render(null, div);
    });
    div.remove();
    rooms.value = new Map();
    vi.useRealTimers();
  });

  const input = () => div.querySelector<HTMLInputElement>("#switcher-input")!;
  const type = (text: string) =>
    act(() => {
      input().value = text;
      input().dispatchEvent(new Event("input", { bubbles: true }));
    });
  const press = (key: string) => act(() => void input().dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true })));
  const options = () => [...div.querySelectorAll<HTMLElement>('[role="option"]')];

  it("is a combobox whose active option is the listbox's selected one", () => {
    expect(input().getAttribute("role")).toBe("combobox");
    expect(input().getAttribute("aria-controls")).toBe("switcher-list");
    expect(options().map((o) => o.dataset.roomId)).toEqual(["3", "1", "2"]);
    const active = () => input().getAttribute("aria-activedescendant");
    expect(active()).toBe(options()[0]!.id);
    press("ArrowDown");
    expect(active()).toBe(options()[1]!.id);
    expect(options()[1]!.getAttribute("aria-selected")).toBe("true");
    press("ArrowUp");
    press("ArrowUp"); // around the top
    expect(active()).toBe(options()[2]!.id);
    type("gnrl");
    expect(options().map((o) => o.dataset.roomId)).toEqual(["1"]);
    expect(options()[0]!.querySelectorAll("mark").length).toBe(4);
    expect(active()).toBe(options()[0]!.id);
  });

  it("asks the server once typing pauses, and drops an answer to an older query", async () => {
    let first!: (u: Author[]) => void;
    search.fn.mockImplementationOnce(() => new Promise((resolve) => (first = resolve)));
    search.fn.mockImplementationOnce(async () => [{ id: "u-bob", name: "bob" }]);
    type("b");
    type("bo");
    await act(async () => void vi.advanceTimersByTime(200));
    expect(search.fn.mock.calls).toEqual([["bo"]]);
    type("bob");
    await act(async () => void vi.advanceTimersByTime(200));
    expect(search.fn.mock.calls).toEqual([["bo"], ["bob"]]);
    await act(async () => void (await Promise.resolve()));
    expect(options().map((o) => o.dataset.userId)).toEqual(["u-bob"]);
    // the answer to "bo" comes last: too late
    await act(async () => first([{ id: "u-boris", name: "boris" }]));
    expect(options().map((o) => o.dataset.userId)).toEqual(["u-bob"]);
  });

  it("names the room a room was created in, and says when it is not joined", () => {
    act(() => putRoom({ ...room(4, "child"), parent: 1, member: false }));
    type("child");
    expect(options()[0]!.querySelector(".switcher-kind")!.textContent).toBe("public, in #general, not joined");
  });

  it("never looks for people for a guest, nor for #rooms", async () => {
    act(() => void (me.value = { id: "me", name: "me", avatar_url: "", guest: true }));
    type("bob");
    await act(async () => void vi.advanceTimersByTime(500));
    act(() => void (me.value = { id: "me", name: "me", avatar_url: "" }));
    type("#bob");
    await act(async () => void vi.advanceTimersByTime(500));
    expect(search.fn).not.toHaveBeenCalled();
  });
});
