import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { compress, minSize } from "./compress.ts";

// run runs the plugin's writeBundle on dir as Vite would after a build.
function run(dir: string) {
  const hook = compress().writeBundle;
  if (!hook || typeof hook !== "object") throw new Error("compress has no writeBundle handler");
  (hook.handler as (options: { dir: string }) => void)({ dir });
}

describe("compress", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes .gz and .br beside files of at least minSize that decompress to them", () => {
    dir = mkdtempSync(join(tmpdir(), "compress-"));
    mkdirSync(join(dir, "assets"));
    const big = "export const x = 1;\n".repeat(200);
    writeFileSync(join(dir, "assets", "app-1.js"), big);
    writeFileSync(join(dir, "assets", "exact.css"), "a".repeat(minSize));
    writeFileSync(join(dir, "small.html"), "<p>hi</p>");
    writeFileSync(join(dir, "assets", "pic.png"), Buffer.alloc(4096, 7));
    run(dir);
    expect(readdirSync(join(dir, "assets")).sort()).toEqual([
      "app-1.js", "app-1.js.br", "app-1.js.gz", "exact.css", "exact.css.br", "exact.css.gz", "pic.png",
    ]);
    expect(readdirSync(dir).sort()).toEqual(["assets", "small.html"]);
    const js = join(dir, "assets", "app-1.js");
    expect(gunzipSync(readFileSync(js + ".gz")).toString()).toBe(big);
    expect(brotliDecompressSync(readFileSync(js + ".br")).toString()).toBe(big);
    expect(readFileSync(js + ".br").length).toBeLessThan(readFileSync(js + ".gz").length);
  });

  it("gives the same bytes every time", () => {
    dir = mkdtempSync(join(tmpdir(), "compress-"));
    writeFileSync(join(dir, "a.js"), "let a = 'あ';\n".repeat(300));
    run(dir);
    const gz = readFileSync(join(dir, "a.js.gz"));
    const br = readFileSync(join(dir, "a.js.br"));
    rmSync(join(dir, "a.js.gz"));
    rmSync(join(dir, "a.js.br"));
    run(dir);
    expect(readFileSync(join(dir, "a.js.gz")).equals(gz)).toBe(true);
    expect(readFileSync(join(dir, "a.js.br")).equals(br)).toBe(true);
    // gzip's header holds no modification time or file name.
    expect(gz.readUInt32LE(4)).toBe(0);
    expect(gz[3]).toBe(0);
  });
});
