// compress is a Vite plugin that writes a gzip (.gz) and a brotli (.br)
// copy beside every compressible file of the build that is at least
// minSize bytes, once the bundle is on disk. The Go server (package web)
// serves them to browsers that accept them, so nothing is compressed per
// request. Both encoders are deterministic (gzip's header carries no time
// or name), so two builds of the same source give the same bytes and
// ./scripts/test can compare a fresh build with the committed ui/dist.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { Plugin } from "vite";

// minSize is the smallest file worth compressing: below it the headers
// outweigh the saving. web/static_test.go checks the same rule.
export const minSize = 1024;

// stored are the extensions of formats that are compressed already, which
// gzip or brotli would only make bigger.
const stored = new Set([
  ".gz", ".br", ".zip", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif",
  ".woff", ".woff2", ".mp3", ".mp4", ".webm", ".ogg",
]);

// text are the extensions brotli is told are UTF-8 text (its text mode).
const text = new Set([".html", ".js", ".mjs", ".css", ".svg", ".json", ".txt", ".map", ".xml", ".webmanifest"]);

// files lists the files under dir, recursively, in a stable order.
function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export function compress(): Plugin {
  return {
    name: "hanashi-compress",
    apply: "build",
    writeBundle: {
      order: "post",
      sequential: true,
      handler(options) {
        const dir = options.dir;
        if (!dir) throw new Error("compress: the build has no output directory");
        for (const file of files(dir)) {
          const ext = extname(file).toLowerCase();
          if (stored.has(ext)) continue;
          const data = readFileSync(file);
          if (data.length < minSize) continue;
          writeFileSync(file + ".gz", gzipSync(data, { level: 9 }));
          writeFileSync(
            file + ".br",
            brotliCompressSync(data, {
              params: {
                [constants.BROTLI_PARAM_QUALITY]: 11,
                [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
                [constants.BROTLI_PARAM_MODE]: text.has(ext) ? constants.BROTLI_MODE_TEXT : constants.BROTLI_MODE_GENERIC,
              },
            }),
          );
        }
      },
    },
  };
}
