// Drives Debian's Chromium through playwright-core for rtc's browser test.
// Env: CHROMIUM (executable), PAGE (URL of page.html on the Go test
// server), PREVIEW_URL and LIVE_URL (signalling URLs with tokens), ASSET,
// MIC_WAV (the fake microphone). Prints one JSON line: {preview, live}.
import { chromium } from 'playwright-core';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const timer = setTimeout(() => { console.error('browser test timed out'); process.exit(2); }, 60000);

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-audio-capture=${env('MIC_WAV')}`,
    '--allow-loopback-in-peer-connection',
    '--autoplay-policy=no-user-gesture-required',
  ],
});
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.error(`page: ${m.text()}`));
  page.on('pageerror', (e) => console.error(`page error: ${e}`));
  await page.goto(env('PAGE'));
  await page.waitForFunction(() => window.ready === true);
  const preview = await page.evaluate(([u, a]) => window.runPreview(u, a), [env('PREVIEW_URL'), env('ASSET')]);
  const live = await page.evaluate((u) => window.runLive(u), env('LIVE_URL'));
  console.log(JSON.stringify({ preview, live }));
} finally {
  await browser.close();
  clearTimeout(timer);
}
