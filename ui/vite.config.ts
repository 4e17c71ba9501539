/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The build goes into the Python package, which serves it at / (src/cronium/web).
export default defineConfig({
  base: "/",
  build: {
    // CRONIUM_UI_OUT: build elsewhere (served with CRONIUM_WEB_DIST), e.g. beside a running server
    outDir: process.env.CRONIUM_UI_OUT ?? "../src/cronium/web/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
