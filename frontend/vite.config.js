// Builds one entry per island into ../static/dist with a manifest that the Django template tag
// `{% vite_asset "src/<entry>.ts" %}` reads (apps/ui/templatetags/vite.py).
// Every top-level file in src/ (`src/<entry>.ts` or `.tsx`) is an island entry: adding an island
// never needs an edit here.
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));
const entries = Object.fromEntries(
  readdirSync(resolve(here, "src"))
    .filter((name) => /\.tsx?$/.test(name) && !/\.(test|d)\.tsx?$/.test(name))
    .map((name) => [name.replace(/\.tsx?$/, ""), resolve(here, "src", name)]),
);

export default defineConfig({
  base: "/static/dist/",
  publicDir: false,
  plugins: [react()],
  build: {
    manifest: true,
    outDir: resolve(here, "../static/dist"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    rollupOptions: { input: entries },
  },
  test: { include: ["src/**/*.test.ts", "src/**/*.test.tsx"] },
});
