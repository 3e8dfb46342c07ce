// End-to-end harness: a real maxbooster server (SQLite in a temp dir, a
// free port) and Debian's headless Chromium driven by playwright-core.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, existsSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import net from 'node:net'
import { chromium } from 'playwright-core'

const here = new URL('.', import.meta.url).pathname
export const repo = resolve(here, '..', '..')
export const bin = process.env.MB_BIN || join(repo, 'bin', 'maxbooster')
export const chromiumPath = process.env.MB_CHROMIUM || '/usr/bin/chromium'
export const ci = process.env.CI === 'true'

/** Why the suite cannot run here, or null. With CI=true a reason is a failure. */
export function missing() {
  if (!existsSync(bin)) return `${bin} is missing (make build)`
  if (!existsSync(chromiumPath)) return `${chromiumPath} is missing (apt-get install chromium)`
  try {
    execFileSync('sqlite3', ['-version'], { stdio: 'ignore' })
  } catch {
    return 'sqlite3 is missing (apt-get install sqlite3): invitations are read from the mail outbox'
  }
  return null
}

export const shotDir = process.env.MB_E2E_SHOTS || mkdtempSync(join(tmpdir(), 'mb-e2e-shots-'))
mkdirSync(shotDir, { recursive: true })

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => res(p))
    })
    s.on('error', rej)
  })
}

export async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'mb-e2e-data-'))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const proc = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      MB_LISTEN: `127.0.0.1:${port}`,
      MB_DATA_DIR: dataDir,
      MB_PUBLIC_URL: base,
      MB_LOG_LEVEL: 'warn',
      MB_REDIS_URL: '',
      MB_DATABASE_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  proc.stdout.on('data', (d) => (log += d))
  proc.stderr.on('data', (d) => (log += d))
  const deadline = Date.now() + 30000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}:\n${log}`)
    try {
      const r = await fetch(base + '/healthz')
      if (r.ok) break
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`server did not answer /healthz:\n${log}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    base,
    dataDir,
    log: () => log,
    /** The newest mail body sent to an address (mail goes to the outbox table without SMTP). */
    mailTo(addr) {
      return execFileSync('sqlite3', [join(dataDir, 'maxbooster.db'), `SELECT body FROM mail_outbox WHERE to_addr = '${addr.replace(/'/g, "''")}' ORDER BY id DESC LIMIT 1`], {
        encoding: 'utf8',
      })
    },
    async stop() {
      proc.kill('SIGTERM')
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)))
    },
  }
}

export async function launch() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-renderer-backgrounding',
      '--disable-background-timer-throttling',
      '--disable-backgrounding-occluded-windows',
    ],
  })
}

export async function shot(page, name) {
  const p = join(shotDir, `${name}.png`)
  await page.screenshot({ path: p })
  return p
}

/** Registers through the API of a browser context (the cookie lands in the context). */
export async function register(ctx, base, email, name) {
  const r = await ctx.request.post(base + '/api/v1/auth/register', {
    data: { email, password: 'violet-mixdown-417', displayName: name },
    headers: { Origin: base },
  })
  if (!r.ok()) throw new Error(`register ${email}: ${r.status()} ${await r.text()}`)
  return (await r.json()).user
}

export async function apiCall(ctx, base, method, path, data) {
  const r = await ctx.request.fetch(base + path, { method, data, headers: { Origin: base } })
  const text = await r.text()
  if (!r.ok()) throw new Error(`${method} ${path}: ${r.status()} ${text}`)
  return text ? JSON.parse(text) : null
}

/** Resolves with how long until fn() is true in the page (polling every 10 ms), or throws after timeout. */
export async function within(page, fn, arg, timeout = 5000) {
  const t0 = Date.now()
  await page.waitForFunction(fn, arg, { timeout, polling: 10 })
  return Date.now() - t0
}
