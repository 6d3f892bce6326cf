// The console's build (npm run build), run by CMake (src/parley/gateway/CMakeLists.txt), which
// embeds the output in the parley binary. PARLEY_CONSOLE_OUT: where the output goes.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/console/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: process.env.PARLEY_CONSOLE_OUT ?? "dist",
    emptyOutDir: true,
    target: "es2020",
    // The Content-Security-Policy allows no data: URLs and no inline code: every asset is a
    // file of its own, and no polyfill is injected inline.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
