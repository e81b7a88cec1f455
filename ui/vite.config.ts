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
  // npm run dev: the client from source, with the API, sign-in and the
  // WebSocket passed to a server on the default address, started with
  // -origins http://localhost:5173 so that it takes them from this origin.
  server: {
    proxy: Object.fromEntries(
      ["/api", "/auth", "/login"].map((path) => [path, { target: "http://127.0.0.1:8080", ws: true }]),
    ),
  },
  test: { environment: "happy-dom" },
});
