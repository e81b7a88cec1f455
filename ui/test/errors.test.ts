import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { APIError } from "../src/api";
import { codeText, errorText } from "../src/client/common";
import { lang } from "../src/i18n";

describe("error texts", () => {
  it("English shows the server's message; Japanese the catalogue's for the code", () => {
    lang.value = "en";
    expect(codeText("invalid", "body is empty")).toBe("body is empty");
    expect(errorText(new APIError(0, "unavailable", "cannot reach the server"))).toMatch(/reach the server/);
    lang.value = "ja";
    expect(codeText("invalid", "body is empty")).toBe("受け付けられませんでした。");
    expect(codeText("teapot", "I am a teapot")).toBe("I am a teapot");
    expect(errorText(new APIError(413, "too_large", "too large"))).toBe("サイズが大きすぎます。");
    lang.value = "en";
  });
});
