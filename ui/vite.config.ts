import { defineConfig } from "vitest/config";
import preact from "@preact/preset-vite";
import { compress } from "./build/compress.ts";

export default defineConfig({
  plugins: [preact(), compress()],
  // Relative URLs: the server may be reached under a path prefix
  // (https://example.com/chat/).
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Every asset a file of its own: a data: URL for a font or a script
    // would be refused by the server's Content-Security-Policy.
    assetsInlineLimit: 0,
    // Every browser the client supports knows modulepreload.
    modulePreload: { polyfill: false },
    rolldownOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  test: { environment: "happy-dom" },
});
