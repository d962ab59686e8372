// Builds one entry per island into ../static/dist with a manifest that the Django template tag
// `{% vite_asset "src/<entry>.ts" %}` reads (apps/ui/templatetags/vite.py).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  base: "/static/dist/",
  publicDir: false,
  build: {
    manifest: true,
    outDir: resolve(here, "../static/dist"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    rollupOptions: {
      input: {
        "yaml-editor": resolve(here, "src/yaml-editor.ts"),
        topology: resolve(here, "src/topology.ts"),
      },
    },
  },
});
