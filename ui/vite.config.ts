/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The build goes into the Python package, which serves it at / (src/cronium/web).
export default defineConfig({
  base: "/",
  build: {
    outDir: "../src/cronium/web/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
