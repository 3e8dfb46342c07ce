// Automation lanes (docs/daw-document.md: tracks[].automation, a Y.Array of
// Y.Map {id, param, points: Y.Array of [time, value]} in time order). The
// studio edits one lane per parameter of a track; every edit is one
// transaction with the caller's origin, so undo takes back only one's own.
// A point is named by its [time, value] rather than its index, so an edit
// made while someone else inserted a point still finds the right one.
// A lane is created in its own transaction that undo does not track: undoing
// one's first point must not delete a lane that others have added points to.
// Two browsers creating the same lane at once leave two lanes of one param;
// they read as one (points merged), edits find a point in either.
import * as Y from 'yjs'
import { buildLane, newId, readLane, trackMap, type AutoPoint, type Lane } from './doc'

/** A parameter that can be automated, with its range and the value of an empty lane. */
export interface AutoParam {
  label: string
  /** A label for tight places ("Vol"). */
  short: string
  min: number
  max: number
  unit: string
}

/** Automatable track parameters. */
export const AUTO_PARAMS: Record<string, AutoParam> = {
  volume: { label: 'Volume', short: 'Vol', min: -60, max: 6, unit: 'dB' },
  pan: { label: 'Pan', short: 'Pan', min: -1, max: 1, unit: '' },
}

/** The most points one lane may hold (a client-controlled size). */
export const MAX_POINTS = 10000

/** Clamps a point into the parameter's range and non-negative time. */
export function clampPoint(param: string, time: number, value: number): AutoPoint {
  const spec = AUTO_PARAMS[param]
  if (!spec) throw new Error(`"${param}" cannot be automated`)
  if (!Number.isFinite(time) || !Number.isFinite(value)) throw new Error('automation point must be finite numbers')
  return [Math.max(0, time), Math.min(spec.max, Math.max(spec.min, value))]
}

/** Where a point at `time` goes to keep the points in time order (after equal times). */
export function insertIndex(points: readonly AutoPoint[], time: number): number {
  let lo = 0
  let hi = points.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (points[mid][0] <= time) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The lane's value at `time`: linear between points, held before the first and after the last. */
export function valueAt(points: readonly AutoPoint[], time: number, dflt: number): number {
  if (points.length === 0) return dflt
  if (time <= points[0][0]) return points[0][1]
  const last = points[points.length - 1]
  if (time >= last[0]) return last[1]
  const i = insertIndex(points, time)
  const [t0, v0] = points[i - 1]
  const [t1, v1] = points[i]
  return t1 === t0 ? v1 : v0 + ((v1 - v0) * (time - t0)) / (t1 - t0)
}

/** y (in a row of `height` pixels from `top`) of a value; max at the top. */
export function valueToY(param: string, value: number, top: number, height: number): number {
  const s = AUTO_PARAMS[param]
  return top + (1 - (value - s.min) / (s.max - s.min)) * height
}

/** The value at y in a row; clamped to the parameter's range. */
export function yToValue(param: string, y: number, top: number, height: number): number {
  const s = AUTO_PARAMS[param]
  const f = 1 - (y - top) / height
  return Math.min(s.max, Math.max(s.min, s.min + f * (s.max - s.min)))
}

/** The index of the point nearest (x, y) within `radius` pixels, or -1. */
export function hitPoint(points: readonly AutoPoint[], x: number, y: number, toX: (t: number) => number, toY: (v: number) => number, radius = 6): number {
  let best = -1
  let bestD = radius * radius
  for (let i = 0; i < points.length; i++) {
    const dx = toX(points[i][0]) - x
    const dy = toY(points[i][1]) - y
    const d = dx * dx + dy * dy
    if (d <= bestD) {
      best = i
      bestD = d
    }
  }
  return best
}

/** Formats a value for a label ("-6.0 dB", "40% L"). */
export function formatValue(param: string, v: number): string {
  if (param === 'pan') return Math.abs(v) < 0.005 ? 'C' : `${Math.round(Math.abs(v) * 100)}% ${v < 0 ? 'L' : 'R'}`
  return `${v.toFixed(1)} ${AUTO_PARAMS[param]?.unit ?? ''}`.trim()
}

function laneMaps(doc: Y.Doc, trackId: string, param: string): Y.Map<unknown>[] {
  const lanes = trackMap(doc, trackId)?.get('automation')
  if (!(lanes instanceof Y.Array)) return []
  return lanes.toArray().filter((l): l is Y.Map<unknown> => l instanceof Y.Map && l.get('param') === param)
}

function pointsOf(lane: Y.Map<unknown>): Y.Array<unknown> {
  let pts = lane.get('points')
  if (!(pts instanceof Y.Array)) {
    pts = new Y.Array<unknown>()
    lane.set('points', pts)
  }
  return pts as Y.Array<unknown>
}

function indexOfPoint(pts: Y.Array<unknown>, p: AutoPoint): number {
  const a = pts.toArray()
  for (let i = 0; i < a.length; i++) {
    const q = a[i]
    if (Array.isArray(q) && q[0] === p[0] && q[1] === p[1]) return i
  }
  return -1
}

/** Sorted insertion into the stored points (which may hold odd entries from other writers). */
function storedInsertIndex(pts: Y.Array<unknown>, time: number): number {
  const a = pts.toArray()
  let i = a.length
  while (i > 0) {
    const q = a[i - 1]
    if (Array.isArray(q) && typeof q[0] === 'number' && q[0] <= time) break
    i--
  }
  return i
}

/** The origin of lane creation: not one's own, so undo leaves the (shared) lane in place. */
const LANE_ORIGIN = Symbol('automation-lane')

/** The lane of `param` on a track, created (untracked by undo) when missing. */
function ensureLane(doc: Y.Doc, trackId: string, param: string): Y.Map<unknown> {
  const existing = laneMaps(doc, trackId, param)[0]
  if (existing) return existing
  const t = trackMap(doc, trackId)
  if (!t) throw new Error('the track was deleted')
  const m = buildLane({ id: newId(), param, points: [] })
  doc.transact(() => {
    let lanes = t.get('automation')
    if (!(lanes instanceof Y.Array)) {
      lanes = new Y.Array<unknown>()
      t.set('automation', lanes)
    }
    ;(lanes as Y.Array<unknown>).push([m])
  }, LANE_ORIGIN)
  return m
}

/** Lanes as data merged by parameter (two lanes of one param, from concurrent creation, read as one). */
export function mergeLanes(lanes: readonly Lane[]): Map<string, Lane> {
  const out = new Map<string, Lane>()
  for (const l of lanes) {
    const have = out.get(l.param)
    if (!have) out.set(l.param, { ...l, points: l.points.slice() })
    else have.points = [...have.points, ...l.points].sort((a, b) => a[0] - b[0])
  }
  return out
}

/** The lane of `param` as data, or null when the track has none. */
export function readParamLane(doc: Y.Doc, trackId: string, param: string): Lane | null {
  return mergeLanes(laneMaps(doc, trackId, param).map(readLane)).get(param) ?? null
}

function findStored(doc: Y.Doc, trackId: string, param: string, p: AutoPoint): { pts: Y.Array<unknown>; i: number } | null {
  for (const lane of laneMaps(doc, trackId, param)) {
    const pts = lane.get('points')
    if (!(pts instanceof Y.Array)) continue
    const i = indexOfPoint(pts, p)
    if (i >= 0) return { pts, i }
  }
  return null
}

/** Adds a point (clamped) in time order; returns the point as stored. */
export function addPoint(doc: Y.Doc, trackId: string, param: string, time: number, value: number, origin: unknown): AutoPoint {
  const p = clampPoint(param, time, value)
  const lane = ensureLane(doc, trackId, param)
  doc.transact(() => {
    const pts = pointsOf(lane)
    if (pts.length >= MAX_POINTS) throw new Error(`a lane holds at most ${MAX_POINTS} points`)
    pts.insert(storedInsertIndex(pts, p[0]), [[p[0], p[1]]])
  }, origin)
  return p
}

/** Moves the point `from` to a new time and value (clamped, re-sorted); returns it, or null when it is gone. */
export function movePoint(doc: Y.Doc, trackId: string, param: string, from: AutoPoint, time: number, value: number, origin: unknown): AutoPoint | null {
  const p = clampPoint(param, time, value)
  let moved: AutoPoint | null = null
  doc.transact(() => {
    const found = findStored(doc, trackId, param, from)
    if (!found) return
    const { pts, i } = found
    pts.delete(i, 1)
    pts.insert(storedInsertIndex(pts, p[0]), [[p[0], p[1]]])
    moved = p
  }, origin)
  return moved
}

/** Deletes a point; returns whether it was there. */
export function removePoint(doc: Y.Doc, trackId: string, param: string, p: AutoPoint, origin: unknown): boolean {
  let removed = false
  doc.transact(() => {
    const found = findStored(doc, trackId, param, p)
    if (!found) return
    found.pts.delete(found.i, 1)
    removed = true
  }, origin)
  return removed
}

/** One step of a lane's playback: set the value at `time` (project seconds), or ramp linearly to it by then. */
export interface AutoEvent {
  time: number
  value: number
  ramp: boolean
}

/**
 * How to play a lane from `from` to `until` (project seconds): the value at
 * `from`, then a linear ramp to every later point, and to the value at
 * `until` when that falls between points. Empty for a lane without points
 * (the track's own setting applies).
 */
export function automationEvents(points: readonly AutoPoint[], from: number, until = Infinity): AutoEvent[] {
  if (points.length === 0 || !(until > from)) return []
  const out: AutoEvent[] = [{ time: from, value: valueAt(points, from, 0), ramp: false }]
  for (const [t, v] of points) {
    if (t <= from) continue
    if (t > until) {
      out.push({ time: until, value: valueAt(points, until, 0), ramp: true })
      break
    }
    out.push({ time: t, value: v, ramp: true })
  }
  return out
}
