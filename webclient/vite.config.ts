import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'
import tailwindcss from '@tailwindcss/vite'
import { fileURLToPath } from 'node:url'

// The Go server (make run) listens on 127.0.0.1:8080 by default; MB_DEV_API
// points the dev proxy elsewhere. The proxy keeps the browser's Host, so the
// server's cross-origin protection sees a same-origin request.
const target = process.env.MB_DEV_API ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  server: {
    port: 5173,
    proxy: {
      '/api': { target },
      '/collab': { target, ws: true },
      '/rtc': { target, ws: true },
      '/healthz': { target },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 900,
    sourcemap: false,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
})
