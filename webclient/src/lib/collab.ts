// One open project: its Y.Doc, the y-websocket connection to the hub with a
// short-lived room token (refreshed before it expires and on reconnect),
// the offline copy in IndexedDB, awareness, and the connection state the
// studio shows at all times.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as decoding from 'lib0/decoding'
import { api, ApiError, wsBase, type Role, type RoomToken } from './api'
import { colorFor } from './colors'

export type ConnState = 'connecting' | 'syncing' | 'connected' | 'offline' | 'error'

export interface SessionStatus {
  conn: ConnState
  /** Local changes made while not connected and not yet sent. */
  unsent: number
  role: Role
  readOnly: boolean
  /** Why the server refused (permission denied, revoked), in words. */
  problem: string | null
  /** The offline copy has been loaded. */
  localLoaded: boolean
}

export interface PresenceUser {
  clientId: number
  userId: string
  name: string
  color: string
  playhead: number | null
  playing: boolean
  selection: { trackId: string; clipId?: string } | null
  range: [number, number] | null
  self: boolean
}

export { PRESENCE_COLORS, colorFor } from './colors'

export function isReadOnly(role: Role): boolean {
  return role === 'viewer'
}

const MESSAGE_AUTH = 2

export class ProjectSession {
  readonly doc: Y.Doc = new Y.Doc()
  /** The origin of every local edit; the undo manager tracks only this. */
  readonly origin = { local: true }
  provider: WebsocketProvider | null = null
  idb: IndexeddbPersistence | null = null
  status: SessionStatus = { conn: 'connecting', unsent: 0, role: 'viewer', readOnly: true, problem: null, localLoaded: false }
  private listeners = new Set<() => void>()
  private refreshTimer: ReturnType<typeof setTimeout> | undefined
  private token: RoomToken | null = null
  private closed = false
  private onlineHandler = () => this.provider?.connect()
  // The browser knows it is offline before the socket times out.
  private offlineHandler = () => {
    this.provider?.disconnect()
    this.set({ conn: 'offline' })
  }

  constructor(
    readonly projectId: string,
    readonly user: { id: string; name: string },
  ) {
    // Offline at start: the last role seen for this project decides until a token arrives.
    const known = safeGet(`mb-role-${projectId}`)
    if (known) this.status = { ...this.status, role: known, readOnly: isReadOnly(known) }
    this.syncGuard()
    this.doc.on('update', (_u: Uint8Array, origin: unknown) => {
      if (origin === this.provider || origin === this.idb) return
      if (this.status.conn !== 'connected') this.set({ unsent: this.status.unsent + 1 })
    })
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private set(p: Partial<SessionStatus>) {
    this.status = { ...this.status, ...p }
    this.syncGuard()
    this.listeners.forEach((l) => l())
  }

  private guard: Y.UndoManager | null = null

  /**
   * While read-only, a local change (only possible by scripting the page:
   * the UI is read-only) is refused by the hub; take it back here too so
   * this copy never drifts from the project. Only read-only sessions carry
   * this second undo manager: clearing its stack would let deleted content
   * that the user's own undo manager keeps be collected.
   */
  private syncGuard() {
    if (this.status.readOnly && !this.guard && !this.closed) {
      const d = this.doc
      const g = new Y.UndoManager([d.getMap('project'), d.getArray('tracks'), d.getArray('markers'), d.getText('notes'), d.getArray('comments')], {
        trackedOrigins: new Set([this.origin, null]),
        captureTimeout: 0,
      })
      g.on('stack-item-added', (ev: { type: 'undo' | 'redo' }) => {
        if (ev.type === 'undo' && this.status.readOnly) queueMicrotask(() => g.undo())
      })
      this.guard = g
    } else if (!this.status.readOnly && this.guard) {
      this.guard.destroy()
      this.guard = null
    }
  }

  /** Loads the offline copy, gets a room token and connects. */
  async start(): Promise<void> {
    try {
      if (typeof indexedDB !== 'undefined') {
        this.idb = new IndexeddbPersistence(`mb-project-${this.projectId}`, this.doc)
        await Promise.race([this.idb.whenSynced, new Promise((r) => setTimeout(r, 1500))])
      }
    } catch {
      /* private mode: no offline copy */
    }
    this.set({ localLoaded: true })
    if (this.closed) return
    let tok: RoomToken
    try {
      tok = await api.roomToken(this.projectId)
    } catch (err) {
      const e = err as ApiError
      this.set({
        conn: e.status === 0 ? 'offline' : 'error',
        problem: e.status === 0 ? null : e.message,
      })
      if (e.status === 0) this.retryLater()
      return
    }
    if (this.closed) return
    this.applyToken(tok)
    // In development (vite dev server) the socket goes through the dev proxy
    // on this origin; the server's public URL would be cross-origin.
    const base = import.meta.env.DEV ? devPath(tok.url) : tok.url
    const provider = new WebsocketProvider(wsBase(base), this.projectId, this.doc, {
      params: { token: tok.token },
      disableBc: true,
      maxBackoffTime: 5000,
    })
    this.provider = provider
    // Permission denied (a viewer's update refused): read-only, in words.
    provider.messageHandlers[MESSAGE_AUTH] = (_enc, decoder) => {
      const kind = decoding.readVarUint(decoder)
      if (kind === 0) {
        const reason = decoding.readVarString(decoder)
        this.set({ readOnly: true, problem: `You can only view this project; the change was not saved${reason ? ` (${reason})` : ''}.` })
      }
    }
    provider.on('status', ({ status }) => {
      if (status === 'connected') this.set({ conn: 'syncing' })
      else if (status === 'connecting') this.set({ conn: this.status.conn === 'offline' ? 'offline' : 'connecting' })
      else this.set({ conn: 'offline' })
    })
    provider.on('sync', (synced: boolean) => {
      if (synced) this.set({ conn: 'connected', unsent: 0 })
    })
    provider.on('connection-close', () => {
      // a token about to expire is renewed before the next attempt
      if (this.token && Date.parse(this.token.expiresAt) - Date.now() < 30_000) void this.refresh(true)
    })
    provider.on('closed', (ev: { code: number; reason: string }) => {
      if (ev.code === 4401) void this.refresh(true)
      else this.set({ conn: 'error', problem: ev.reason || 'The server closed this project for you (access revoked?).' })
    })
    window.addEventListener('online', this.onlineHandler)
    window.addEventListener('offline', this.offlineHandler)
    this.setLocalPresence({})
  }

  private retryLater() {
    if (this.closed) return
    this.refreshTimer = setTimeout(() => {
      if (!this.provider) void this.start()
    }, 3000)
  }

  private applyToken(tok: RoomToken) {
    this.token = tok
    safeSet(`mb-role-${this.projectId}`, tok.role)
    const ro = isReadOnly(tok.role)
    this.set({ role: tok.role, readOnly: ro, problem: ro ? null : this.status.problem })
    if (this.provider) this.provider.params = { ...this.provider.params, token: tok.token }
    clearTimeout(this.refreshTimer)
    const ms = Date.parse(tok.expiresAt) - Date.now()
    const wait = Number.isFinite(ms) ? Math.max(5_000, Math.min(ms * 0.8, ms - 30_000)) : 60_000
    this.refreshTimer = setTimeout(() => void this.refresh(false), wait)
  }

  /** Gets a new room token; with reconnect, reconnects with it. */
  async refresh(reconnect: boolean): Promise<void> {
    if (this.closed) return
    try {
      const tok = await api.roomToken(this.projectId)
      this.applyToken(tok)
      if (reconnect && this.provider) {
        this.provider.disconnect()
        this.provider.connect()
      }
    } catch (err) {
      const e = err as ApiError
      if (e.status === 0) {
        this.refreshTimer = setTimeout(() => void this.refresh(reconnect), 5000)
      } else {
        this.set({ conn: 'error', problem: e.message })
      }
    }
  }

  setLocalPresence(p: Partial<Omit<PresenceUser, 'clientId' | 'self'>>): void {
    const aw = this.provider?.awareness
    if (!aw) return
    const cur = (aw.getLocalState() as Record<string, unknown> | null) ?? {}
    aw.setLocalState({
      userId: this.user.id,
      name: this.user.name,
      color: colorFor(this.user.id),
      playhead: null,
      playing: false,
      selection: null,
      range: null,
      ...cur,
      ...p,
    })
  }

  presence(): PresenceUser[] {
    const aw = this.provider?.awareness
    if (!aw) return []
    const out: PresenceUser[] = []
    for (const [clientId, st] of aw.getStates()) {
      const s = st as Partial<PresenceUser>
      if (!s || !s.userId) continue
      out.push({
        clientId,
        userId: String(s.userId),
        name: String(s.name ?? 'Someone'),
        color: String(s.color ?? colorFor(String(s.userId))),
        playhead: typeof s.playhead === 'number' ? s.playhead : null,
        playing: s.playing === true,
        selection: s.selection ?? null,
        range: Array.isArray(s.range) ? (s.range as [number, number]) : null,
        self: clientId === this.doc.clientID,
      })
    }
    return out
  }

  close(): void {
    this.closed = true
    this.guard?.destroy()
    clearTimeout(this.refreshTimer)
    window.removeEventListener('online', this.onlineHandler)
    window.removeEventListener('offline', this.offlineHandler)
    this.provider?.destroy()
    void this.idb?.destroy()
    this.doc.destroy()
    this.listeners.clear()
  }
}

function safeGet(k: string): string | null {
  try {
    return localStorage.getItem(k)
  } catch {
    return null
  }
}

function safeSet(k: string, v: string): void {
  try {
    localStorage.setItem(k, v)
  } catch {
    /* storage full or disabled */
  }
}

function devPath(u: string): string {
  try {
    return new URL(u).pathname
  } catch {
    return u
  }
}
