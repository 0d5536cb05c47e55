import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The gateway serves the built files at /dashboard (services/gateway/src/dashboard.ts). `npm run dev
// -w clients/web` serves them with hot reload and sends the API to a gateway on 127.0.0.1:8080.
const gateway = process.env.CODEAGENT_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2_000, sourcemap: false },
  server: { proxy: { '/api': gateway, '/health': gateway, '/socket.io': { target: gateway, ws: true } } },
});
