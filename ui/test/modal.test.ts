import { describe, expect, it } from "vitest";
import { closedByBrowser, closeQuietly } from "../src/components/modal";

describe("closing a dialog from code", () => {
  it("tells its late close event from the browser's own closing", () => {
    const d = document.createElement("dialog");
    document.body.append(d);
    d.showModal();
    closeQuietly(d);
    expect(d.open).toBe(false);
    // Opened again before the close event of the quiet close arrives.
    d.showModal();
    expect(closedByBrowser(d)).toBe(false); // that late event: not the browser's
    d.close(); // the browser closes it (as Escape would)
    expect(closedByBrowser(d)).toBe(true);
    expect(closedByBrowser(null)).toBe(false);
    d.remove();
  });
});
