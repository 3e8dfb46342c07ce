// The project document (docs/daw-document.md): root names, field names and
// the edits the studio makes. Readers are lenient (a missing or mistyped
// field reads as its zero value), writers write every field the Go side
// reads. Every edit runs in a transaction with the caller's origin, so the
// undo manager can tell one's own changes from everyone else's.
import * as Y from 'yjs'

export const ROOT_PROJECT = 'project'
export const ROOT_TRACKS = 'tracks'
export const ROOT_MARKERS = 'markers'
export const ROOT_NOTES = 'notes'
export const ROOT_COMMENTS = 'comments'

export type TrackKind = 'audio' | 'midi' | 'bus'

export interface Settings {
  name: string
  tempo: number
  timeSigNum: number
  timeSigDen: number
  key: string
  sampleRate: number
}

export interface Effect {
  id: string
  type: string
  bypass: boolean
  params: Record<string, number>
}

export interface Clip {
  id: string
  assetId: string
  position: number
  offset: number
  length: number
  gain: number
  fadeIn: number
  fadeOut: number
}

export interface Track {
  id: string
  name: string
  kind: string
  color: string
  volume: number
  pan: number
  mute: boolean
  solo: boolean
  arm: boolean
  effects: Effect[]
  clips: Clip[]
  /** Automation lanes, one per parameter (see src/lib/automation.ts). */
  automation: Lane[]
}

/** An automation breakpoint: [time in seconds, value in the parameter's unit]. */
export type AutoPoint = [number, number]

/** The automation of one parameter of a track; points in time order. */
export interface Lane {
  id: string
  param: string
  points: AutoPoint[]
}

export interface Marker {
  id: string
  time: number
  name: string
  color: string
}

export interface Comment {
  id: string
  authorId: string
  time: number
  /** End of the commented range; a studio extension, absent (= time) in older comments. */
  endTime: number
  text: string
  createdAt: string
  resolved: boolean
}

export interface DocState {
  settings: Settings
  tracks: Track[]
  markers: Marker[]
  comments: Comment[]
}

export const DEFAULT_SETTINGS: Settings = {
  name: '',
  tempo: 120,
  timeSigNum: 4,
  timeSigDen: 4,
  key: '',
  sampleRate: 48000,
}

export const TRACK_COLORS = [
  '#f59e0b', '#ef4444', '#ec4899', '#a855f7', '#6366f1', '#3b82f6',
  '#06b6d4', '#10b981', '#84cc16', '#eab308', '#f97316', '#14b8a6',
]

export const VALID_DENOMINATORS = [1, 2, 4, 8, 16, 32]

// ---- lenient readers -------------------------------------------------------

function num(m: Y.Map<unknown>, k: string, dflt = 0): number {
  const v = m.get(k)
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt
}
function str(m: Y.Map<unknown>, k: string): string {
  const v = m.get(k)
  return typeof v === 'string' ? v : ''
}
function bool(m: Y.Map<unknown>, k: string): boolean {
  return m.get(k) === true
}
function arr(m: Y.Map<unknown>, k: string): Y.Array<unknown> | null {
  const v = m.get(k)
  return v instanceof Y.Array ? v : null
}
function maps(a: Y.Array<unknown> | null): Y.Map<unknown>[] {
  if (!a) return []
  const out: Y.Map<unknown>[] = []
  for (const v of a.toArray()) if (v instanceof Y.Map) out.push(v)
  return out
}

export function readSettings(doc: Y.Doc): Settings {
  const p = doc.getMap<unknown>(ROOT_PROJECT)
  return {
    name: str(p, 'name'),
    tempo: num(p, 'tempo', DEFAULT_SETTINGS.tempo) || DEFAULT_SETTINGS.tempo,
    timeSigNum: num(p, 'timeSigNum', 4) || 4,
    timeSigDen: num(p, 'timeSigDen', 4) || 4,
    key: str(p, 'key'),
    sampleRate: num(p, 'sampleRate', 48000) || 48000,
  }
}

export function readClip(c: Y.Map<unknown>): Clip {
  return {
    id: str(c, 'id'),
    assetId: str(c, 'assetId'),
    position: num(c, 'position'),
    offset: num(c, 'offset'),
    length: num(c, 'length'),
    gain: num(c, 'gain'),
    fadeIn: num(c, 'fadeIn'),
    fadeOut: num(c, 'fadeOut'),
  }
}

export function readTrack(m: Y.Map<unknown>): Track {
  return {
    id: str(m, 'id'),
    name: str(m, 'name'),
    kind: str(m, 'kind') || 'audio',
    color: str(m, 'color') || TRACK_COLORS[0],
    volume: num(m, 'volume'),
    pan: num(m, 'pan'),
    mute: bool(m, 'mute'),
    solo: bool(m, 'solo'),
    arm: bool(m, 'arm'),
    effects: maps(arr(m, 'effects')).map((e) => {
      const params: Record<string, number> = {}
      const p = e.get('params')
      if (p instanceof Y.Map) {
        for (const [k, v] of p.entries()) if (typeof v === 'number') params[k] = v
      }
      return { id: str(e, 'id'), type: str(e, 'type'), bypass: bool(e, 'bypass'), params }
    }),
    clips: maps(arr(m, 'clips')).map(readClip),
    automation: maps(arr(m, 'automation')).map(readLane),
  }
}

/** A lane read leniently: points that are not [number, number] pairs are skipped; kept in time order. */
export function readLane(l: Y.Map<unknown>): Lane {
  const points: AutoPoint[] = []
  for (const p of arr(l, 'points')?.toArray() ?? []) {
    if (Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && typeof p[1] === 'number' && Number.isFinite(p[0]) && Number.isFinite(p[1])) {
      points.push([p[0], p[1]])
    }
  }
  points.sort((a, b) => a[0] - b[0])
  return { id: str(l, 'id'), param: str(l, 'param'), points }
}

/** A lane as a Y.Map (id, param, points Y.Array of [time, value]). */
export function buildLane(l: Lane): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  m.set('id', l.id)
  m.set('param', l.param)
  const pts = new Y.Array<unknown>()
  pts.push(l.points.map((p) => [p[0], p[1]]))
  m.set('points', pts)
  return m
}

export function readDoc(doc: Y.Doc): DocState {
  return {
    settings: readSettings(doc),
    tracks: maps(doc.getArray<unknown>(ROOT_TRACKS)).map(readTrack),
    markers: maps(doc.getArray<unknown>(ROOT_MARKERS))
      .map((m) => ({ id: str(m, 'id'), time: num(m, 'time'), name: str(m, 'name'), color: str(m, 'color') }))
      .sort((a, b) => a.time - b.time),
    comments: maps(doc.getArray<unknown>(ROOT_COMMENTS)).map((c) => {
      const time = num(c, 'time')
      return {
        id: str(c, 'id'),
        authorId: str(c, 'authorId'),
        time,
        endTime: Math.max(time, num(c, 'endTime', time)),
        text: str(c, 'text'),
        createdAt: str(c, 'createdAt'),
        resolved: bool(c, 'resolved'),
      }
    }),
  }
}

// ---- ids and lookups ---------------------------------------------------------

export function newId(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID()
  return 'id-' + Math.random().toString(36).slice(2) + Date.now().toString(36)
}

function indexById(a: Y.Array<unknown>, id: string): number {
  const items = a.toArray()
  for (let i = 0; i < items.length; i++) {
    const v = items[i]
    if (v instanceof Y.Map && v.get('id') === id) return i
  }
  return -1
}

function findById(a: Y.Array<unknown> | null, id: string): Y.Map<unknown> | null {
  if (!a) return null
  const i = indexById(a, id)
  return i < 0 ? null : (a.get(i) as Y.Map<unknown>)
}

export function trackMap(doc: Y.Doc, trackId: string): Y.Map<unknown> | null {
  return findById(doc.getArray<unknown>(ROOT_TRACKS), trackId)
}

function clipMap(doc: Y.Doc, trackId: string, clipId: string): Y.Map<unknown> | null {
  const t = trackMap(doc, trackId)
  return t ? findById(arr(t, 'clips'), clipId) : null
}

// ---- settings --------------------------------------------------------------

/** Validates a settings patch the way collab/daw does; returns the first problem in words, or null. */
export function validateSettings(s: Partial<Settings>): string | null {
  if (s.tempo !== undefined && !(s.tempo >= 20 && s.tempo <= 999)) return 'Tempo must be between 20 and 999 BPM.'
  if (s.timeSigNum !== undefined && !(Number.isInteger(s.timeSigNum) && s.timeSigNum >= 1 && s.timeSigNum <= 64))
    return 'Beats per bar must be a whole number from 1 to 64.'
  if (s.timeSigDen !== undefined && !VALID_DENOMINATORS.includes(s.timeSigDen))
    return 'The beat unit must be 1, 2, 4, 8, 16 or 32.'
  if (s.sampleRate !== undefined && !(s.sampleRate >= 8000 && s.sampleRate <= 768000))
    return 'Sample rate must be between 8000 and 768000 Hz.'
  if (s.name !== undefined && s.name.length > 200) return 'The name is longer than 200 characters.'
  if (s.key !== undefined && s.key.length > 32) return 'The key is longer than 32 characters.'
  return null
}

export function setSettings(doc: Y.Doc, patch: Partial<Settings>, origin: unknown): void {
  const problem = validateSettings(patch)
  if (problem) throw new Error(problem)
  const p = doc.getMap<unknown>(ROOT_PROJECT)
  doc.transact(() => {
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) p.set(k, v)
  }, origin)
}

/** Fills in missing settings (a new project); leaves what is there alone. */
export function ensureSettings(doc: Y.Doc, name: string, origin: unknown): void {
  const p = doc.getMap<unknown>(ROOT_PROJECT)
  const want: Record<string, unknown> = { ...DEFAULT_SETTINGS, name }
  const missing = Object.keys(want).filter((k) => !p.has(k))
  if (missing.length === 0) return
  doc.transact(() => {
    for (const k of missing) p.set(k, want[k])
  }, origin)
}

// ---- tracks ------------------------------------------------------------------

export interface NewTrack {
  name?: string
  kind?: TrackKind
  color?: string
}

function buildTrack(t: Track): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  m.set('id', t.id)
  m.set('name', t.name)
  m.set('kind', t.kind)
  m.set('color', t.color)
  m.set('volume', t.volume)
  m.set('pan', t.pan)
  m.set('mute', t.mute)
  m.set('solo', t.solo)
  m.set('arm', t.arm)
  const effects = new Y.Array<Y.Map<unknown>>()
  effects.push(t.effects.map(buildEffect))
  const clips = new Y.Array<Y.Map<unknown>>()
  clips.push(t.clips.map(buildClip))
  m.set('effects', effects)
  m.set('clips', clips)
  const lanes = new Y.Array<Y.Map<unknown>>()
  lanes.push(t.automation.map(buildLane))
  m.set('automation', lanes)
  return m
}

export function addTrack(doc: Y.Doc, t: NewTrack, origin: unknown, index?: number): string {
  const tracks = doc.getArray<unknown>(ROOT_TRACKS)
  const id = newId()
  const n = tracks.length
  const track: Track = {
    id,
    name: t.name ?? `Track ${n + 1}`,
    kind: t.kind ?? 'audio',
    color: t.color ?? TRACK_COLORS[n % TRACK_COLORS.length],
    volume: 0,
    pan: 0,
    mute: false,
    solo: false,
    arm: false,
    effects: [],
    clips: [],
    automation: [],
  }
  doc.transact(() => {
    const at = index === undefined ? tracks.length : Math.max(0, Math.min(index, tracks.length))
    tracks.insert(at, [buildTrack(track)])
  }, origin)
  return id
}

export function removeTrack(doc: Y.Doc, trackId: string, origin: unknown): void {
  const tracks = doc.getArray<unknown>(ROOT_TRACKS)
  doc.transact(() => {
    const i = indexById(tracks, trackId)
    if (i >= 0) tracks.delete(i, 1)
  }, origin)
}

export type TrackPatch = Partial<Pick<Track, 'name' | 'color' | 'volume' | 'pan' | 'mute' | 'solo' | 'arm' | 'kind'>>

export function updateTrack(doc: Y.Doc, trackId: string, patch: TrackPatch, origin: unknown): void {
  doc.transact(() => {
    const m = trackMap(doc, trackId)
    if (!m) return
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) m.set(k, v)
  }, origin)
}

/**
 * Moves a track to index `to` (its position after the move). Yjs has no
 * move, so the track is rebuilt at the new place from its current state in
 * the same transaction; it keeps its id.
 */
export function moveTrack(doc: Y.Doc, trackId: string, to: number, origin: unknown): void {
  const tracks = doc.getArray<unknown>(ROOT_TRACKS)
  doc.transact(() => {
    const from = indexById(tracks, trackId)
    if (from < 0) return
    const target = Math.max(0, Math.min(to, tracks.length - 1))
    if (target === from) return
    const state = readTrack(tracks.get(from) as Y.Map<unknown>)
    tracks.delete(from, 1)
    tracks.insert(target, [buildTrack(state)])
  }, origin)
}

// ---- effects -----------------------------------------------------------------

export interface ParamSpec {
  name: string
  label: string
  min: number
  max: number
  dflt: number
  unit: string
  log?: boolean
}

/** The inserts the audio module implements (audio/dsp), with their parameters. */
export const EFFECT_TYPES: Record<string, { label: string; params: ParamSpec[] }> = {
  eq: {
    label: 'EQ',
    params: [
      { name: 'lowGain', label: 'Low', min: -18, max: 18, dflt: 0, unit: 'dB' },
      { name: 'lowFreq', label: 'Lo Hz', min: 20, max: 1000, dflt: 120, unit: 'Hz', log: true },
      { name: 'midGain', label: 'Mid', min: -18, max: 18, dflt: 0, unit: 'dB' },
      { name: 'midFreq', label: 'Mid Hz', min: 200, max: 8000, dflt: 1000, unit: 'Hz', log: true },
      { name: 'highGain', label: 'High', min: -18, max: 18, dflt: 0, unit: 'dB' },
      { name: 'highFreq', label: 'Hi Hz', min: 1000, max: 20000, dflt: 8000, unit: 'Hz', log: true },
    ],
  },
  compressor: {
    label: 'Compressor',
    params: [
      { name: 'threshold', label: 'Thresh', min: -60, max: 0, dflt: -18, unit: 'dB' },
      { name: 'ratio', label: 'Ratio', min: 1, max: 20, dflt: 4, unit: ':1' },
      { name: 'knee', label: 'Knee', min: 0, max: 24, dflt: 6, unit: 'dB' },
      { name: 'attack', label: 'Attack', min: 0.1, max: 200, dflt: 10, unit: 'ms', log: true },
      { name: 'release', label: 'Release', min: 5, max: 2000, dflt: 120, unit: 'ms', log: true },
      { name: 'makeup', label: 'Makeup', min: 0, max: 24, dflt: 0, unit: 'dB' },
    ],
  },
  saturator: {
    label: 'Saturator',
    params: [
      { name: 'drive', label: 'Drive', min: 0, max: 36, dflt: 6, unit: 'dB' },
      { name: 'mix', label: 'Mix', min: 0, max: 1, dflt: 1, unit: '' },
    ],
  },
  limiter: {
    label: 'Limiter',
    params: [
      { name: 'ceiling', label: 'Ceiling', min: -12, max: 0, dflt: -1, unit: 'dBTP' },
      { name: 'release', label: 'Release', min: 10, max: 1000, dflt: 100, unit: 'ms', log: true },
    ],
  },
  gain: {
    label: 'Gain',
    params: [{ name: 'gain', label: 'Gain', min: -48, max: 24, dflt: 0, unit: 'dB' }],
  },
}

function buildEffect(e: Effect): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  m.set('id', e.id)
  m.set('type', e.type)
  m.set('bypass', e.bypass)
  const p = new Y.Map<unknown>()
  for (const [k, v] of Object.entries(e.params)) p.set(k, v)
  m.set('params', p)
  return m
}

export function addEffect(doc: Y.Doc, trackId: string, type: string, origin: unknown): string {
  const spec = EFFECT_TYPES[type]
  if (!spec) throw new Error(`Unknown effect "${type}".`)
  const id = newId()
  const params: Record<string, number> = {}
  for (const p of spec.params) params[p.name] = p.dflt
  doc.transact(() => {
    const t = trackMap(doc, trackId)
    arr(t!, 'effects')?.push([buildEffect({ id, type, bypass: false, params })])
  }, origin)
  return id
}

function effectMap(doc: Y.Doc, trackId: string, fxId: string): Y.Map<unknown> | null {
  const t = trackMap(doc, trackId)
  return t ? findById(arr(t, 'effects'), fxId) : null
}

export function setEffectParam(doc: Y.Doc, trackId: string, fxId: string, name: string, value: number, origin: unknown): void {
  doc.transact(() => {
    const fx = effectMap(doc, trackId, fxId)
    const p = fx?.get('params')
    if (p instanceof Y.Map) p.set(name, value)
  }, origin)
}

export function setEffectBypass(doc: Y.Doc, trackId: string, fxId: string, bypass: boolean, origin: unknown): void {
  doc.transact(() => effectMap(doc, trackId, fxId)?.set('bypass', bypass), origin)
}

export function removeEffect(doc: Y.Doc, trackId: string, fxId: string, origin: unknown): void {
  doc.transact(() => {
    const t = trackMap(doc, trackId)
    const a = t ? arr(t, 'effects') : null
    if (!a) return
    const i = indexById(a, fxId)
    if (i >= 0) a.delete(i, 1)
  }, origin)
}

// ---- clips -------------------------------------------------------------------

function buildClip(c: Clip): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  for (const [k, v] of Object.entries(c)) m.set(k, v)
  return m
}

export const MIN_CLIP_LENGTH = 0.01

/** Keeps fades inside the clip (fadeIn + fadeOut ≤ length) and values sane. */
export function normalizeClip(c: Clip): Clip {
  const length = Math.max(MIN_CLIP_LENGTH, c.length)
  let fadeIn = Math.max(0, Math.min(c.fadeIn, length))
  let fadeOut = Math.max(0, Math.min(c.fadeOut, length))
  if (fadeIn + fadeOut > length) {
    const k = length / (fadeIn + fadeOut)
    fadeIn *= k
    fadeOut *= k
  }
  return {
    ...c,
    position: Math.max(0, c.position),
    offset: Math.max(0, c.offset),
    length,
    gain: Math.max(-96, Math.min(24, c.gain)),
    fadeIn,
    fadeOut,
  }
}

export function addClip(doc: Y.Doc, trackId: string, c: Omit<Clip, 'id'> & { id?: string }, origin: unknown): string {
  const clip = normalizeClip({ ...c, id: c.id ?? newId() })
  doc.transact(() => {
    const t = trackMap(doc, trackId)
    if (!t) throw new Error('That track is gone.')
    let clips = arr(t, 'clips')
    if (!clips) {
      clips = new Y.Array()
      t.set('clips', clips)
    }
    clips.push([buildClip(clip)])
  }, origin)
  return clip.id
}

export function updateClip(doc: Y.Doc, trackId: string, clipId: string, patch: Partial<Omit<Clip, 'id'>>, origin: unknown): void {
  doc.transact(() => {
    const m = clipMap(doc, trackId, clipId)
    if (!m) return
    const next = normalizeClip({ ...readClip(m), ...patch })
    for (const [k, v] of Object.entries(next)) if (k !== 'id' && m.get(k) !== v) m.set(k, v)
  }, origin)
}

export function removeClip(doc: Y.Doc, trackId: string, clipId: string, origin: unknown): void {
  doc.transact(() => {
    const t = trackMap(doc, trackId)
    const a = t ? arr(t, 'clips') : null
    if (!a) return
    const i = indexById(a, clipId)
    if (i >= 0) a.delete(i, 1)
  }, origin)
}

/** Moves a clip to another track (and/or time), keeping its id. */
export function moveClip(doc: Y.Doc, fromTrack: string, clipId: string, toTrack: string, position: number, origin: unknown): void {
  if (fromTrack === toTrack) {
    updateClip(doc, fromTrack, clipId, { position }, origin)
    return
  }
  doc.transact(() => {
    const src = trackMap(doc, fromTrack)
    const dst = trackMap(doc, toTrack)
    const sa = src ? arr(src, 'clips') : null
    const da = dst ? arr(dst, 'clips') : null
    if (!sa || !da) return
    const i = indexById(sa, clipId)
    if (i < 0) return
    const c = readClip(sa.get(i) as Y.Map<unknown>)
    sa.delete(i, 1)
    da.push([buildClip(normalizeClip({ ...c, position }))])
  }, origin)
}

/** The two halves of a clip cut at `at` (timeline seconds), or null when `at` is not inside it. */
export function splitParts(c: Clip, at: number, rightId = newId()): [Clip, Clip] | null {
  const cut = at - c.position
  if (cut < MIN_CLIP_LENGTH || c.length - cut < MIN_CLIP_LENGTH) return null
  const left = normalizeClip({ ...c, length: cut, fadeOut: 0 })
  left.fadeIn = Math.min(c.fadeIn, cut)
  const right = normalizeClip({
    ...c,
    id: rightId,
    position: at,
    offset: c.offset + cut,
    length: c.length - cut,
    fadeIn: 0,
    fadeOut: Math.min(c.fadeOut, c.length - cut),
  })
  return [left, right]
}

/** Splits a clip at `at`; returns the new right-hand clip's id, or null when `at` is outside it. */
export function splitClip(doc: Y.Doc, trackId: string, clipId: string, at: number, origin: unknown): string | null {
  let rightId: string | null = null
  doc.transact(() => {
    const t = trackMap(doc, trackId)
    const a = t ? arr(t, 'clips') : null
    if (!a) return
    const i = indexById(a, clipId)
    if (i < 0) return
    const m = a.get(i) as Y.Map<unknown>
    const parts = splitParts(readClip(m), at)
    if (!parts) return
    const [left, right] = parts
    for (const [k, v] of Object.entries(left)) if (k !== 'id') m.set(k, v)
    a.insert(i + 1, [buildClip(right)])
    rightId = right.id
  }, origin)
  return rightId
}

/** New start and offset when a clip's left edge is dragged to `start` (its right edge stays put). */
export function trimStart(c: Clip, start: number, assetDuration = Infinity): Clip {
  const end = c.position + c.length
  // cannot reach before the asset's beginning, nor past the end
  let s = Math.min(start, end - MIN_CLIP_LENGTH)
  s = Math.max(s, c.position - c.offset, 0)
  const d = s - c.position
  return normalizeClip({ ...c, position: s, offset: c.offset + d, length: Math.min(c.length - d, assetDuration - (c.offset + d)) })
}

/** New length when a clip's right edge is dragged to `end`. */
export function trimEnd(c: Clip, end: number, assetDuration = Infinity): Clip {
  const maxLen = assetDuration - c.offset
  return normalizeClip({ ...c, length: Math.min(Math.max(MIN_CLIP_LENGTH, end - c.position), maxLen) })
}

// ---- markers and comments ------------------------------------------------------

export function addMarker(doc: Y.Doc, time: number, name: string, color: string, origin: unknown): string {
  const id = newId()
  doc.transact(() => {
    doc.getArray<unknown>(ROOT_MARKERS).push([buildClipLike({ id, time: Math.max(0, time), name, color })])
  }, origin)
  return id
}

function buildClipLike(o: Record<string, unknown>): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  for (const [k, v] of Object.entries(o)) m.set(k, v)
  return m
}

export function updateMarker(doc: Y.Doc, id: string, patch: Partial<Omit<Marker, 'id'>>, origin: unknown): void {
  doc.transact(() => {
    const m = findById(doc.getArray<unknown>(ROOT_MARKERS), id)
    if (m) for (const [k, v] of Object.entries(patch)) if (v !== undefined) m.set(k, v)
  }, origin)
}

export function removeMarker(doc: Y.Doc, id: string, origin: unknown): void {
  doc.transact(() => {
    const a = doc.getArray<unknown>(ROOT_MARKERS)
    const i = indexById(a, id)
    if (i >= 0) a.delete(i, 1)
  }, origin)
}

export function addComment(doc: Y.Doc, c: { authorId: string; time: number; endTime?: number; text: string }, origin: unknown): string {
  const text = c.text.trim()
  if (!text) throw new Error('A comment needs some text.')
  if (text.length > 4000) throw new Error('Comments are limited to 4000 characters.')
  const id = newId()
  const time = Math.max(0, c.time)
  doc.transact(() => {
    doc.getArray<unknown>(ROOT_COMMENTS).push([
      buildClipLike({
        id,
        authorId: c.authorId,
        time,
        endTime: Math.max(time, c.endTime ?? time),
        text,
        createdAt: new Date().toISOString(),
        resolved: false,
      }),
    ])
  }, origin)
  return id
}

export function setCommentResolved(doc: Y.Doc, id: string, resolved: boolean, origin: unknown): void {
  doc.transact(() => findById(doc.getArray<unknown>(ROOT_COMMENTS), id)?.set('resolved', resolved), origin)
}

export function removeComment(doc: Y.Doc, id: string, origin: unknown): void {
  doc.transact(() => {
    const a = doc.getArray<unknown>(ROOT_COMMENTS)
    const i = indexById(a, id)
    if (i >= 0) a.delete(i, 1)
  }, origin)
}

// ---- derived -------------------------------------------------------------------

/** End of the last clip or marker, in seconds. */
export function projectEnd(s: DocState): number {
  let end = 0
  for (const t of s.tracks) for (const c of t.clips) end = Math.max(end, c.position + c.length)
  for (const m of s.markers) end = Math.max(end, m.time)
  return end
}

/** Whether a track is heard: not muted, and soloed when any track is soloed. */
export function audible(t: Track, anySolo: boolean): boolean {
  return !t.mute && (!anySolo || t.solo)
}

/** The undo manager for one's own changes: only transactions with `origin` are tracked. */
export function createUndoManager(doc: Y.Doc, origin: unknown): Y.UndoManager {
  return new Y.UndoManager(
    [
      doc.getMap(ROOT_PROJECT),
      doc.getArray(ROOT_TRACKS),
      doc.getArray(ROOT_MARKERS),
      doc.getText(ROOT_NOTES),
      doc.getArray(ROOT_COMMENTS),
    ],
    { trackedOrigins: new Set([origin]), captureTimeout: 400 },
  )
}
