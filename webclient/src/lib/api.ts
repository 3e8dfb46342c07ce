// REST client: same-origin fetch with the session cookie. The server's
// cross-origin protection (Go's http.CrossOriginProtection) trusts the
// browser's Sec-Fetch-Site/Origin headers, so no CSRF token is needed;
// requests must simply come from this origin. Errors are problem+json and
// become ApiError with the server's words.

export class ApiError extends Error {
  status: number
  code: string
  title: string
  constructor(status: number, code: string, title: string, detail: string) {
    super(detail || title || `Request failed (${status})`)
    this.status = status
    this.code = code
    this.title = title
  }
}

export type Role = 'owner' | 'editor' | 'viewer' | string

export interface User {
  id: string
  email: string
  displayName: string
  emailVerified?: boolean
  createdAt?: string
}

export interface SessionInfo {
  id: string
  current?: boolean
  userAgent?: string
  ip?: string
  createdAt?: string
  lastSeenAt?: string
  expiresAt?: string
}

export interface AccessToken {
  id: string
  name: string
  scopes: string[]
  createdAt?: string
  expiresAt?: string | null
  lastUsedAt?: string | null
  token?: string
}

export interface Project {
  id: string
  name: string
  ownerId: string
  role: Role
  createdAt: string
  updatedAt: string
  deletedAt?: string | null
  purgeAt?: string | null
}

export interface Member {
  userId: string
  email: string
  displayName: string
  role: Role
  joinedAt: string
}

export interface Invite {
  id?: string
  token?: string
  email: string
  role: Role
  createdAt?: string
  expiresAt?: string
  projectId?: string
  projectName?: string
  inviterName?: string
}

export interface RoomToken {
  token: string
  url: string
  expiresAt: string
  role: Role
}

export interface AssetMetadata {
  codec?: string
  sampleRate?: number
  bitDepth?: number
  channels?: number
  durationSec?: number
  bitrate?: number
}

export interface Compliance {
  platform: string
  targetLufs: number
  gainDb: number
  resultingTruePeakDbtp: number | null
  ok: boolean
  advice?: string
}

export interface Asset {
  id: string
  ownerId: string
  projectId: string
  filename: string
  contentType: string
  size: number
  sha256: string
  status: string
  error?: string | null
  createdAt: string
  metadata?: AssetMetadata | null
  tags?: Record<string, string | number | boolean | null> | null
  analysis?: {
    loudness?: {
      integratedLufs?: number | null
      rangeLu?: number | null
      truePeakDbtp?: number | null
      samplePeakDbfs?: number | null
      maxMomentaryLufs?: number | null
      maxShortTermLufs?: number | null
    }
    compliance?: Compliance[]
    readiness?: { ok: boolean; problems?: { id: string; severity: 'fail' | 'warn'; message: string }[] }
    bpm?: number | null
    key?: string | null
  }
  previewReady?: boolean
  peaksReady?: boolean
  peaksLevels?: number[]
  jobId?: string | null
}

async function parseError(res: Response): Promise<ApiError> {
  let body: { title?: string; detail?: string; code?: string } = {}
  try {
    body = await res.json()
  } catch {
    /* not JSON: keep the status line */
  }
  const fallback =
    res.status === 404
      ? 'Not found.'
      : res.status === 401
        ? 'You are not logged in.'
        : res.status === 403
          ? 'You do not have permission to do that.'
          : res.status >= 500
            ? 'The server had a problem. Try again in a moment.'
            : `Request failed (${res.status}).`
  return new ApiError(res.status, body.code ?? '', body.title ?? '', body.detail || body.title || fallback)
}

export async function request<T>(method: string, path: string, body?: unknown, init?: RequestInit): Promise<T> {
  let res: Response
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      ...init,
    })
  } catch {
    throw new ApiError(0, 'network', 'Offline', 'Cannot reach the server. Check your connection.')
  }
  if (!res.ok) throw await parseError(res)
  if (res.status === 204) return undefined as T
  const ct = res.headers.get('Content-Type') ?? ''
  if (!ct.includes('json')) return undefined as T
  return (await res.json()) as T
}

const enc = encodeURIComponent

export const api = {
  me: async () => userOf(await request<unknown>('GET', '/api/v1/me')),
  register: async (email: string, password: string, displayName: string) =>
    userOf(await request<unknown>('POST', '/api/v1/auth/register', { email, password, displayName })),
  login: async (email: string, password: string) => userOf(await request<unknown>('POST', '/api/v1/auth/login', { email, password })),
  logout: () => request<void>('POST', '/api/v1/auth/logout'),
  changePassword: (currentPassword: string, newPassword: string) =>
    request<void>('POST', '/api/v1/me/password', { currentPassword, newPassword }),
  sessions: async () => unwrap<SessionInfo>(await request<unknown>('GET', '/api/v1/me/sessions'), 'sessions'),
  revokeSession: (id: string) => request<void>('DELETE', `/api/v1/me/sessions/${enc(id)}`),
  tokens: async () => unwrap<AccessToken>(await request<unknown>('GET', '/api/v1/tokens'), 'tokens'),
  createToken: (name: string, scopes: string[], expiresInDays: number) =>
    request<AccessToken>('POST', '/api/v1/tokens', { name, scopes, expiresInDays }),
  revokeToken: (id: string) => request<void>('DELETE', `/api/v1/tokens/${enc(id)}`),

  projects: (deleted = false) => allPages<Project>('/api/v1/projects', deleted ? { deleted: 'true' } : {}, 'projects'),
  project: (id: string) => request<Project>('GET', `/api/v1/projects/${enc(id)}`),
  createProject: (name: string) => request<Project>('POST', '/api/v1/projects', { name }),
  renameProject: (id: string, name: string) => request<Project>('PATCH', `/api/v1/projects/${enc(id)}`, { name }),
  deleteProject: (id: string) => request<void>('DELETE', `/api/v1/projects/${enc(id)}`),
  restoreProject: (id: string) => request<Project>('POST', `/api/v1/projects/${enc(id)}/restore`),
  members: (id: string) =>
    request<{ members: Member[]; invites: Invite[] }>('GET', `/api/v1/projects/${enc(id)}/members`),
  invite: (id: string, email: string, role: Role) =>
    request<Invite>('POST', `/api/v1/projects/${enc(id)}/invites`, { email, role }),
  setMemberRole: (id: string, userId: string, role: Role) =>
    request<Member>('PATCH', `/api/v1/projects/${enc(id)}/members/${enc(userId)}`, { role }),
  removeMember: (id: string, userId: string) => request<void>('DELETE', `/api/v1/projects/${enc(id)}/members/${enc(userId)}`),
  transfer: (id: string, userId: string) => request<Project>('POST', `/api/v1/projects/${enc(id)}/transfer`, { userId }),
  inviteInfo: (token: string) => request<Invite>('GET', `/api/v1/invites/${enc(token)}`),
  acceptInvite: (token: string) => request<Project | { projectId: string }>('POST', `/api/v1/invites/${enc(token)}/accept`),
  roomToken: (id: string) => request<RoomToken>('POST', `/api/v1/projects/${enc(id)}/room-token`),

  assets: async (projectId: string) =>
    unwrap<Asset>(await request<unknown>('GET', `/api/v1/assets?projectId=${enc(projectId)}`), 'assets'),
  asset: (id: string) => request<Asset>('GET', `/api/v1/assets/${enc(id)}`),
}

/** The user in a {user: User} answer (or a bare User). */
export function userOf(v: unknown): User {
  const o = v as { user?: User } & Partial<User>
  if (o && o.user && typeof o.user.id === 'string') return o.user
  if (o && typeof o.id === 'string') return o as User
  throw new ApiError(500, 'bad_response', '', 'The server answered with no user.')
}

/** The most pages allPages follows (200 items each). */
export const MAX_PAGES = 50

/**
 * Every item of a paged list: pages of 200, following `nextBefore` (the
 * server's cursor; absent on the last page) up to MAX_PAGES pages.
 */
export async function allPages<T>(
  path: string,
  query: Record<string, string>,
  key: string,
  get: (url: string) => Promise<unknown> = (url) => request<unknown>('GET', url),
): Promise<T[]> {
  const out: T[] = []
  let before = ''
  for (let page = 0; page < MAX_PAGES; page++) {
    const q = new URLSearchParams({ ...query, limit: '200' })
    if (before) q.set('before', before)
    const body = await get(`${path}?${q}`)
    out.push(...unwrap<T>(body, key))
    const next = body && typeof body === 'object' ? (body as { nextBefore?: unknown }).nextBefore : undefined
    if (typeof next !== 'string' || next === '') break
    before = next
  }
  return out
}

/** Lists come either bare or wrapped ({projects: [...]}, {items: [...]}); accept both. */
export function unwrap<T>(v: unknown, key: string): T[] {
  if (Array.isArray(v)) return v as T[]
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>
    for (const k of [key, 'items', 'data']) if (Array.isArray(o[k])) return o[k] as T[]
  }
  return []
}

/** Turns a room-token url (absolute ws(s):// or http(s)://, or a path) into a WebSocket base URL. */
export function wsBase(u: string, loc: { protocol: string; host: string } = window.location): string {
  let s = u || '/collab'
  if (s.startsWith('/')) s = `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${s}`
  else if (s.startsWith('http://')) s = 'ws://' + s.slice(7)
  else if (s.startsWith('https://')) s = 'wss://' + s.slice(8)
  return s.replace(/\/+$/, '')
}
