// Builds the console into dist/, served by the platform at /console (backend/infra/console.py).
// Element Plus is imported per component (unplugin-vue-components' resolver adds the import and
// its style wherever a template uses <el-…>), so a page only ships the components it uses.
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";
import AutoImport from "unplugin-auto-import/vite";
import Components from "unplugin-vue-components/vite";
import { ElementPlusResolver } from "unplugin-vue-components/resolvers";

export default defineConfig({
  base: "/console/",
  plugins: [
    vue(),
    // ElMessage, ElMessageBox and ElNotification are called from scripts, not templates.
    AutoImport({ resolvers: [ElementPlusResolver()], dts: false }),
    Components({ resolvers: [ElementPlusResolver()], dts: false }),
  ],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true, // dist/.vite/manifest.json: what each page loads (bench/console_size.py)
    chunkSizeWarningLimit: 900,
  },
  server: {
    // `npm run dev` beside `make run`: the API and the Socket.IO server stay on the platform.
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/socket.io": { target: "http://127.0.0.1:8000", ws: true },
    },
  },
});
