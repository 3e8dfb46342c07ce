// The arrangement: a ruler and one canvas for every lane, clip, waveform,
// grid line, marker, comment range and playhead. Clips and grid are drawn
// into an offscreen layer only when something changed; each frame copies
// it and draws the playheads and the drag preview on top, so 32 tracks and
// 500 clips stay at 60 fps. Only visible tracks and clips are drawn.
import { expose } from '@/lib/testhooks'
import * as React from 'react'
import { createPortal as ReactDOMPortal } from 'react-dom'
import type * as Y from 'yjs'
import { audible, addClip, addTrack, moveClip, trimEnd, trimStart, updateClip, normalizeClip, type Clip, type DocState, type Track } from '@/lib/doc'
import { gridLines, snap, snapStep, type Meter, type SnapUnit, formatBarsBeats, secondsPerBar } from '@/lib/time'
import { bestPeaks, levelFor, onPeaksLoaded, rangeAt } from '@/lib/peaks'
import type { PresenceUser } from '@/lib/collab'
import type { Transport } from './engine'
import { addPoint, readParamLane, clampPoint, formatValue, hitPoint, mergeLanes, movePoint, removePoint, valueToY, yToValue, AUTO_PARAMS } from '@/lib/automation'
import type { AutoPoint } from '@/lib/doc'

export const TRACK_H = 64
export const RULER_H = 30

export interface Selection {
  trackId: string | null
  clipId: string | null
}

export interface AssetInfo {
  id: string
  filename: string
  durationSec?: number
  sampleRate?: number
  peaksLevels?: number[]
}

type Drag =
  | { kind: 'move'; track: Track; clip: Clip; dx: number; x0: number; y0: number; preview: Clip; toTrack: number; moved: boolean }
  | { kind: 'trimStart' | 'trimEnd' | 'fadeIn' | 'fadeOut'; track: Track; clip: Clip; preview: Clip; moved: boolean }
  | { kind: 'range'; t0: number; t1: number; moved: boolean; trackIdx: number }
  | { kind: 'ruler'; t0: number; t1: number; moved: boolean }
  | { kind: 'point'; track: Track; param: string; orig: AutoPoint; preview: AutoPoint; x0: number; y0: number; moved: boolean }

/** The automation point last clicked (Delete removes it). */
interface PointSel {
  trackId: string
  param: string
  point: AutoPoint
}

/** Vertical extent of an automation lane inside a track row at y. */
const AUTO_PAD = 6
const autoTop = (y: number) => y + AUTO_PAD
const AUTO_H = TRACK_H - 2 * AUTO_PAD

/** The points of a track's lane for `param`, with a drag's preview in place of the dragged point. */
function lanePoints(tr: Track, param: string, d: Drag | null): AutoPoint[] {
  let pts = mergeLanes(tr.automation).get(param)?.points ?? []
  if (d?.kind === 'point' && d.moved && d.track.id === tr.id && d.param === param) {
    const i = pts.findIndex((p) => p[0] === d.orig[0] && p[1] === d.orig[1])
    if (i >= 0) pts = [...pts.slice(0, i), ...pts.slice(i + 1), d.preview].sort((a, b) => a[0] - b[0])
  }
  return pts
}

export interface TimelineProps {
  state: DocState
  doc: Y.Doc
  origin: unknown
  meter: Meter
  pxPerSec: number
  scrollX: number
  setScrollX: (s: number) => void
  zoomAt: (factor: number, atTime: number) => void
  snapUnit: SnapUnit
  selection: Selection
  setSelection: (s: Selection) => void
  range: [number, number] | null
  setRange: (r: [number, number] | null) => void
  transport: Transport
  presence: PresenceUser[]
  readOnly: boolean
  assets: Map<string, AssetInfo>
  onError: (msg: string) => void
  /** Tracks whose automation lane is shown → the parameter shown. */
  autoView: Record<string, string>
}

function hexA(hex: string, a: number): string {
  const h = hex.replace('#', '')
  const full = h.length === 3 ? h.split('').map((c) => c + c).join('') : h.padEnd(6, '0')
  const n = parseInt(full.slice(0, 6), 16)
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`
}

/** `text` cut with an ellipsis to fit `room` pixels ('' when not even one letter fits). */
function fitText(ctx: CanvasRenderingContext2D, text: string, room: number): string {
  if (ctx.measureText(text).width <= room) return text
  for (let n = text.length - 1; n > 0; n--) {
    const t = text.slice(0, n).trimEnd() + '…'
    if (ctx.measureText(t).width <= room) return t
  }
  return ''
}

function setupCanvas(c: HTMLCanvasElement, w: number, h: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1
  const W = Math.max(1, Math.round(w * dpr))
  const H = Math.max(1, Math.round(h * dpr))
  if (c.width !== W || c.height !== H) {
    c.width = W
    c.height = H
    c.style.width = `${w}px`
    c.style.height = `${h}px`
  }
  const ctx = c.getContext('2d')!
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
  return ctx
}

export function Timeline(p: TimelineProps) {
  const rulerRef = React.useRef<HTMLCanvasElement>(null)
  const canvasRef = React.useRef<HTMLCanvasElement>(null)
  const scrollRef = React.useRef<HTMLDivElement | null>(null)
  const wrapRef = React.useRef<HTMLDivElement>(null)
  const layer = React.useRef<HTMLCanvasElement | null>(null)
  const dirty = React.useRef(true)
  const drag = React.useRef<Drag | null>(null)
  const size = React.useRef({ w: 800, h: 400, top: 0 })
  const props = React.useRef(p)
  props.current = p
  const [cursor, setCursor] = React.useState('default')
  const frames = React.useRef<number[]>([])
  const pointSel = React.useRef<PointSel | null>(null)

  // any prop change redraws the static layer
  React.useEffect(() => {
    dirty.current = true
  }, [p.state, p.pxPerSec, p.scrollX, p.meter, p.selection, p.range, p.presence, p.assets, p.autoView])
  React.useEffect(() => onPeaksLoaded(() => (dirty.current = true)), [])

  // size and vertical scroll come from the lanes' scroll container (the parent)
  React.useEffect(() => {
    const wrap = wrapRef.current!
    const sc = wrap.closest('[data-lanes-scroll]') as HTMLDivElement | null
    scrollRef.current = sc
    const measure = () => {
      size.current = { w: wrap.clientWidth, h: sc ? sc.clientHeight : 400, top: sc ? sc.scrollTop : 0 }
      dirty.current = true
    }
    measure()
    const ro = new ResizeObserver(measure)
    ro.observe(wrap)
    if (sc) ro.observe(sc)
    sc?.addEventListener('scroll', measure, { passive: true })
    return () => {
      ro.disconnect()
      sc?.removeEventListener('scroll', measure)
    }
  }, [])

  const timeAt = (x: number) => props.current.scrollX + x / props.current.pxPerSec
  const xAt = (t: number) => (t - props.current.scrollX) * props.current.pxPerSec

  // ---- drawing ----------------------------------------------------------------
  const drawLayer = React.useCallback(() => {
    const P = props.current
    const { w, h, top } = size.current
    if (!layer.current) layer.current = document.createElement('canvas')
    const ctx = setupCanvas(layer.current, w, h)
    const t0 = P.scrollX
    const t1 = P.scrollX + w / P.pxPerSec
    ctx.fillStyle = '#121419'
    ctx.fillRect(0, 0, w, h)
    const first = Math.max(0, Math.floor(top / TRACK_H))
    const last = Math.min(P.state.tracks.length - 1, Math.floor((top + h) / TRACK_H))
    // lanes
    for (let i = first; i <= last; i++) {
      const y = i * TRACK_H - top
      const tr = P.state.tracks[i]
      ctx.fillStyle = i % 2 ? '#14171c' : '#16191f'
      if (P.selection.trackId === tr.id) ctx.fillStyle = '#1b1f27'
      ctx.fillRect(0, y, w, TRACK_H)
    }
    // grid
    const lines = gridLines(t0, t1, P.pxPerSec, P.meter, 8)
    for (const g of lines) {
      const x = Math.round(xAt(g.time)) + 0.5
      ctx.strokeStyle = g.level === 0 ? 'rgba(255,255,255,0.13)' : g.level === 1 ? 'rgba(255,255,255,0.06)' : 'rgba(255,255,255,0.03)'
      ctx.beginPath()
      ctx.moveTo(x, 0)
      ctx.lineTo(x, h)
      ctx.stroke()
    }
    // selected range / loop
    if (P.range) {
      const x0 = xAt(P.range[0])
      const x1 = xAt(P.range[1])
      ctx.fillStyle = 'rgba(245,158,11,0.08)'
      ctx.fillRect(x0, 0, x1 - x0, h)
    }
    // comment ranges (unresolved)
    for (const c of P.state.comments) {
      if (c.resolved || c.endTime <= c.time) continue
      const x0 = xAt(c.time)
      const x1 = xAt(c.endTime)
      if (x1 < 0 || x0 > w) continue
      ctx.fillStyle = 'rgba(56,189,248,0.05)'
      ctx.fillRect(x0, 0, x1 - x0, h)
    }
    // clips
    const remoteSel = new Map<string, string>()
    for (const u of P.presence) if (!u.self && u.selection?.clipId) remoteSel.set(u.selection.clipId, u.color)
    const d = drag.current
    for (let i = first; i <= last; i++) {
      const tr = P.state.tracks[i]
      const y = i * TRACK_H - top
      for (const c of tr.clips) {
        if (d && 'clip' in d && d.clip.id === c.id && d.moved) continue // drawn as preview
        if (c.position > t1 || c.position + c.length < t0) continue
        drawClip(ctx, P, tr, c, y, c.id === P.selection.clipId, remoteSel.get(c.id), w)
      }
    }
    // automation lanes shown over their tracks' clips
    for (let i = first; i <= last; i++) {
      const tr = P.state.tracks[i]
      const param = P.autoView[tr.id]
      if (!param || !AUTO_PARAMS[param]) continue
      const y = i * TRACK_H - top
      drawLane(ctx, tr, param, lanePoints(tr, param, d), y, w, xAt, pointSel.current, d?.kind === 'point' && d.moved && d.track.id === tr.id ? d.preview : null)
    }
    // markers
    for (const m of P.state.markers) {
      const x = Math.round(xAt(m.time)) + 0.5
      if (x < -1 || x > w + 1) continue
      ctx.strokeStyle = hexA(m.color || '#f59e0b', 0.55)
      ctx.setLineDash([3, 3])
      ctx.beginPath()
      ctx.moveTo(x, 0)
      ctx.lineTo(x, h)
      ctx.stroke()
      ctx.setLineDash([])
    }
    if (P.state.tracks.length === 0) {
      ctx.fillStyle = '#6b7280'
      ctx.font = '13px system-ui, sans-serif'
      ctx.fillText(P.readOnly ? 'This project has no tracks yet.' : 'Add a track, or drop an uploaded asset here.', 16, 32)
    }
  }, [])

  const drawRuler = React.useCallback(() => {
    const P = props.current
    const c = rulerRef.current
    if (!c) return
    const w = size.current.w
    const ctx = setupCanvas(c, w, RULER_H)
    ctx.fillStyle = '#0f1115'
    ctx.fillRect(0, 0, w, RULER_H)
    const t1 = P.scrollX + w / P.pxPerSec
    ctx.font = '10px ui-monospace, "DejaVu Sans Mono", monospace'
    ctx.textBaseline = 'top'
    const lines = gridLines(P.scrollX, t1, P.pxPerSec, P.meter, 8)
    let lastLabel = -1e9
    for (const g of lines) {
      const x = Math.round(xAt(g.time)) + 0.5
      ctx.strokeStyle = g.level === 0 ? '#5b6270' : '#343944'
      ctx.beginPath()
      ctx.moveTo(x, g.level === 0 ? 12 : g.level === 1 ? 20 : 24)
      ctx.lineTo(x, RULER_H)
      ctx.stroke()
      if (g.level === 0 && x - lastLabel > 28) {
        ctx.fillStyle = '#aab1bd'
        ctx.fillText(String(g.bar), x + 3, 3)
        lastLabel = x
      }
    }
    if (P.range) {
      const x0 = xAt(P.range[0])
      const x1 = xAt(P.range[1])
      ctx.fillStyle = P.transport.loopOn ? 'rgba(245,158,11,0.55)' : 'rgba(245,158,11,0.22)'
      ctx.fillRect(x0, RULER_H - 6, x1 - x0, 6)
    }
    // markers at (nearly) one place share a flag and a label; a label stops before the next flag
    const flags: { x: number; color: string; names: string[] }[] = []
    for (const m of P.state.markers) {
      const x = xAt(m.time)
      const prev = flags[flags.length - 1]
      if (prev && x - prev.x < 2) {
        if (m.name) prev.names.push(m.name)
      } else flags.push({ x, color: m.color || '#f59e0b', names: m.name ? [m.name] : [] })
    }
    for (let i = 0; i < flags.length; i++) {
      const { x, color, names } = flags[i]
      const next = flags[i + 1]?.x ?? Infinity
      if (next < -80 || x > w) continue
      ctx.fillStyle = color
      ctx.beginPath()
      ctx.moveTo(x, 12)
      ctx.lineTo(x + 6, 16)
      ctx.lineTo(x, 20)
      ctx.fill()
      const room = Math.min(next, w) - x - 12
      const label = fitText(ctx, names.join(' · '), room)
      if (label) {
        ctx.fillStyle = '#e5e7eb'
        ctx.fillText(label, x + 8, 12)
      }
    }
    for (const cm of P.state.comments) {
      if (cm.resolved) continue
      const x = xAt(cm.time)
      if (x < -10 || x > w) continue
      ctx.fillStyle = '#38bdf8'
      ctx.fillRect(x - 2, 22, 5, 5)
    }
  }, [])

  // one rAF loop: redraw the layer when dirty, overlays every frame
  React.useEffect(() => {
    let raf = 0
    let lastPlayhead = -1
    let lastPresence: PresenceUser[] | null = null
    const loop = (now: number) => {
      raf = requestAnimationFrame(loop)
      const P = props.current
      const f = frames.current
      f.push(now)
      if (f.length > 240) f.shift()
      const pos = P.transport.position()
      const needsOverlay = dirty.current || pos !== lastPlayhead || P.transport.playing || lastPresence !== P.presence || drag.current
      if (!needsOverlay) return
      const { w, h } = size.current
      if (dirty.current) {
        drawLayer()
        drawRuler()
        dirty.current = false
      }
      const c = canvasRef.current
      if (!c || !layer.current) return
      const ctx = setupCanvas(c, w, h)
      ctx.setTransform(1, 0, 0, 1, 0, 0)
      ctx.drawImage(layer.current, 0, 0)
      const dpr = window.devicePixelRatio || 1
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
      // drag preview
      const d = drag.current
      if (d && 'clip' in d && d.moved) {
        const ti = d.kind === 'move' ? d.toTrack : P.state.tracks.findIndex((t) => t.id === d.track.id)
        const tr = P.state.tracks[ti] ?? d.track
        drawClip(ctx, P, tr, d.preview, ti * TRACK_H - size.current.top, true, undefined, w)
        ctx.fillStyle = 'rgba(0,0,0,0.75)'
        const label = formatBarsBeats(d.preview.position, P.meter)
        const lx = (d.preview.position - P.scrollX) * P.pxPerSec
        ctx.fillRect(lx, ti * TRACK_H - size.current.top - 16, 62, 14)
        ctx.fillStyle = '#fff'
        ctx.font = '10px ui-monospace, monospace'
        ctx.fillText(label, lx + 4, ti * TRACK_H - size.current.top - 5)
      }
      if (d && (d.kind === 'range' || d.kind === 'ruler') && d.moved) {
        const x0 = xAt(Math.min(d.t0, d.t1))
        const x1 = xAt(Math.max(d.t0, d.t1))
        ctx.fillStyle = 'rgba(245,158,11,0.12)'
        ctx.fillRect(x0, 0, x1 - x0, h)
      }
      // remote playheads
      for (const u of P.presence) {
        if (u.self || u.playhead === null) continue
        const x = Math.round(xAt(u.playhead)) + 0.5
        if (x < 0 || x > w) continue
        ctx.strokeStyle = hexA(u.color, 0.8)
        ctx.setLineDash([4, 3])
        ctx.beginPath()
        ctx.moveTo(x, 0)
        ctx.lineTo(x, h)
        ctx.stroke()
        ctx.setLineDash([])
      }
      // own playhead
      const x = Math.round(xAt(pos)) + 0.5
      ctx.strokeStyle = '#f59e0b'
      ctx.lineWidth = 1.5
      ctx.beginPath()
      ctx.moveTo(x, 0)
      ctx.lineTo(x, h)
      ctx.stroke()
      ctx.lineWidth = 1
      // ruler playheads are cheap to redraw: triangle on top of the ruler
      const r = rulerRef.current
      if (r && (pos !== lastPlayhead || lastPresence !== P.presence)) {
        drawRuler()
        const rc = r.getContext('2d')!
        for (const u of P.presence) {
          if (u.self || u.playhead === null) continue
          const ux = xAt(u.playhead)
          rc.fillStyle = u.color
          rc.font = 'bold 9px system-ui, sans-serif'
          const tw = rc.measureText(u.name).width + 6
          rc.fillRect(ux, 0, tw, 11)
          rc.fillStyle = '#000'
          rc.fillText(u.name, ux + 3, 1)
        }
        rc.fillStyle = '#f59e0b'
        rc.beginPath()
        rc.moveTo(x - 6, RULER_H - 9)
        rc.lineTo(x + 6, RULER_H - 9)
        rc.lineTo(x, RULER_H)
        rc.fill()
      }
      // follow the playhead while playing
      if (P.transport.playing && (x > w - 40 || x < 0)) P.setScrollX(Math.max(0, pos - 40 / P.pxPerSec))
      lastPlayhead = pos
      lastPresence = P.presence
    }
    raf = requestAnimationFrame(loop)
    expose('__mbFrames', () => frames.current.slice())
    expose('__mbRedraw', () => (dirty.current = true))
    return () => cancelAnimationFrame(raf)
  }, [drawLayer, drawRuler])

  // ---- hit testing and dragging ------------------------------------------------
  function hit(x: number, y: number): { track: Track; trackIdx: number; clip?: Clip; zone?: Drag['kind'] } | null {
    const P = props.current
    const idx = Math.floor((y + size.current.top) / TRACK_H)
    const track = P.state.tracks[idx]
    if (!track) return null
    const yIn = y + size.current.top - idx * TRACK_H
    for (let i = track.clips.length - 1; i >= 0; i--) {
      const c = track.clips[i]
      const x0 = xAt(c.position)
      const x1 = xAt(c.position + c.length)
      if (x < x0 - 3 || x > x1 + 3) continue
      const fx0 = x0 + c.fadeIn * P.pxPerSec
      const fx1 = x1 - c.fadeOut * P.pxPerSec
      if (yIn < 12 && Math.abs(x - fx0) < 6) return { track, trackIdx: idx, clip: c, zone: 'fadeIn' }
      if (yIn < 12 && Math.abs(x - fx1) < 6) return { track, trackIdx: idx, clip: c, zone: 'fadeOut' }
      if (x - x0 < 6) return { track, trackIdx: idx, clip: c, zone: 'trimStart' }
      if (x1 - x < 6) return { track, trackIdx: idx, clip: c, zone: 'trimEnd' }
      return { track, trackIdx: idx, clip: c, zone: 'move' }
    }
    return { track, trackIdx: idx }
  }

  function local(e: React.PointerEvent | PointerEvent): { x: number; y: number } {
    const r = canvasRef.current!.getBoundingClientRect()
    return { x: e.clientX - r.left, y: e.clientY - r.top }
  }

  /** The automation lane under (x, y) when its track shows one and the user may edit. */
  function autoHit(x: number, y: number): { track: Track; param: string; points: AutoPoint[]; index: number; top: number } | null {
    const P = props.current
    if (P.readOnly) return null
    const idx = Math.floor((y + size.current.top) / TRACK_H)
    const track = P.state.tracks[idx]
    const param = track && P.autoView[track.id]
    if (!track || !param || !AUTO_PARAMS[param]) return null
    const top = autoTop(idx * TRACK_H - size.current.top)
    // from the document, not the last render: a point just added, moved or undone is hit at once
    const points = readParamLane(P.doc, track.id, param)?.points ?? []
    const index = hitPoint(points, x, y, xAt, (v) => valueToY(param, v, top, AUTO_H))
    return { track, param, points, index, top }
  }

  function deletePoint(trackId: string, param: string, p: AutoPoint) {
    const P = props.current
    try {
      removePoint(P.doc, trackId, param, p, P.origin)
    } catch (err) {
      P.onError(err instanceof Error ? err.message : String(err))
    }
    pointSel.current = null
    dirty.current = true
  }

  function onPointerDown(e: React.PointerEvent) {
    if (e.button !== 0) return
    const P = props.current
    const { x, y } = local(e)
    canvasRef.current!.setPointerCapture(e.pointerId)
    canvasRef.current!.focus()
    const a = autoHit(x, y)
    if (a) {
      P.setSelection({ trackId: a.track.id, clipId: null })
      dirty.current = true
      if (a.index >= 0 && e.altKey) return deletePoint(a.track.id, a.param, a.points[a.index])
      let p: AutoPoint
      if (a.index >= 0) p = a.points[a.index]
      else {
        try {
          p = addPoint(P.doc, a.track.id, a.param, snap(timeAt(x), P.snapUnit, P.meter), yToValue(a.param, y, a.top, AUTO_H), P.origin)
        } catch (err) {
          P.onError(err instanceof Error ? err.message : String(err))
          return
        }
      }
      pointSel.current = { trackId: a.track.id, param: a.param, point: p }
      drag.current = { kind: 'point', track: a.track, param: a.param, orig: p, preview: p, x0: x, y0: y, moved: false }
      return
    }
    pointSel.current = null
    const h = hit(x, y)
    if (h?.clip) {
      P.setSelection({ trackId: h.track.id, clipId: h.clip.id })
      if (P.readOnly) return
      const c = h.clip
      if (h.zone === 'move') {
        drag.current = { kind: 'move', track: h.track, clip: c, dx: timeAt(x) - c.position, x0: x, y0: y, preview: c, toTrack: h.trackIdx, moved: false }
      } else {
        drag.current = { kind: h.zone as 'trimStart', track: h.track, clip: c, preview: c, moved: false }
      }
      return
    }
    const t = snap(timeAt(x), P.snapUnit, P.meter)
    P.setSelection({ trackId: h?.track.id ?? null, clipId: null })
    drag.current = { kind: 'range', t0: t, t1: t, moved: false, trackIdx: h?.trackIdx ?? -1 }
  }

  function onPointerMove(e: React.PointerEvent) {
    const P = props.current
    const { x, y } = local(e)
    const d = drag.current
    if (!d) {
      const a = autoHit(x, y)
      if (a) return setCursor(a.index >= 0 ? 'move' : 'crosshair')
      const h = hit(x, y)
      const z = h?.zone
      setCursor(P.readOnly ? 'default' : z === 'trimStart' || z === 'trimEnd' ? 'ew-resize' : z === 'fadeIn' || z === 'fadeOut' ? 'nesw-resize' : z === 'move' ? 'grab' : 'text')
      return
    }
    const t = timeAt(x)
    const sn = (v: number) => (e.altKey ? Math.max(0, v) : snap(v, P.snapUnit, P.meter))
    const asset = 'clip' in d ? P.assets.get(d.clip.assetId) : undefined
    const dur = asset?.durationSec ?? Infinity
    switch (d.kind) {
      case 'move': {
        if (!d.moved && Math.abs(x - d.x0) < 3 && Math.abs(y - d.y0) < 3) return
        d.moved = true
        const idx = Math.max(0, Math.min(P.state.tracks.length - 1, Math.floor((y + size.current.top) / TRACK_H)))
        d.toTrack = idx
        d.preview = { ...d.clip, position: sn(t - d.dx) }
        break
      }
      case 'trimStart':
        d.moved = true
        d.preview = trimStart(d.clip, sn(t), dur)
        break
      case 'trimEnd':
        d.moved = true
        d.preview = trimEnd(d.clip, sn(t), dur)
        break
      case 'fadeIn':
        d.moved = true
        d.preview = normalizeClip({ ...d.clip, fadeIn: Math.max(0, Math.min(t - d.clip.position, d.clip.length - d.clip.fadeOut)) })
        break
      case 'fadeOut':
        d.moved = true
        d.preview = normalizeClip({ ...d.clip, fadeOut: Math.max(0, Math.min(d.clip.position + d.clip.length - t, d.clip.length - d.clip.fadeIn)) })
        break
      case 'point': {
        if (!d.moved && Math.abs(x - d.x0) < 3 && Math.abs(y - d.y0) < 3) return
        d.moved = true
        const idx = P.state.tracks.findIndex((tr) => tr.id === d.track.id)
        const top = autoTop(idx * TRACK_H - size.current.top)
        d.preview = clampPoint(d.param, sn(t), yToValue(d.param, y, top, AUTO_H))
        break
      }
      case 'range':
      case 'ruler':
        d.t1 = sn(t)
        if (Math.abs(d.t1 - d.t0) > 1e-6) d.moved = true
        break
    }
    dirty.current = true
  }

  function onPointerUp() {
    const P = props.current
    const d = drag.current
    drag.current = null
    dirty.current = true
    if (!d) return
    try {
      if (d.kind === 'point') {
        if (d.moved) {
          const p = movePoint(P.doc, d.track.id, d.param, d.orig, d.preview[0], d.preview[1], P.origin)
          pointSel.current = p ? { trackId: d.track.id, param: d.param, point: p } : null
        }
      } else if (d.kind === 'move' && d.moved) {
        const to = P.state.tracks[d.toTrack]
        moveClip(P.doc, d.track.id, d.clip.id, to?.id ?? d.track.id, d.preview.position, P.origin)
        P.setSelection({ trackId: to?.id ?? d.track.id, clipId: d.clip.id })
      } else if ((d.kind === 'trimStart' || d.kind === 'trimEnd' || d.kind === 'fadeIn' || d.kind === 'fadeOut') && d.moved) {
        const { id: _id, ...patch } = d.preview
        void _id
        updateClip(P.doc, d.track.id, d.clip.id, patch, P.origin)
      } else if (d.kind === 'range' || d.kind === 'ruler') {
        if (d.moved) P.setRange([Math.min(d.t0, d.t1), Math.max(d.t0, d.t1)])
        else {
          P.transport.seek(d.t0)
          if (d.kind === 'ruler') P.setRange(null)
        }
      }
    } catch (err) {
      P.onError(err instanceof Error ? err.message : String(err))
    }
  }

  function onWheel(e: React.WheelEvent) {
    const P = props.current
    if (e.ctrlKey || e.metaKey) {
      // the native listener below prevents the browser's page zoom (React's wheel listener is passive)
      const { x } = local(e as unknown as PointerEvent)
      P.zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, timeAt(x))
    } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      const dx = e.shiftKey ? e.deltaY : e.deltaX
      P.setScrollX(Math.max(0, P.scrollX + dx / P.pxPerSec))
    }
  }

  // ctrl+wheel must be able to preventDefault (React's wheel listener is passive)
  React.useEffect(() => {
    const c = wrapRef.current!
    const block = (e: WheelEvent) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey) e.preventDefault()
    }
    c.addEventListener('wheel', block, { passive: false })
    return () => c.removeEventListener('wheel', block)
  }, [])

  function onDrop(e: React.DragEvent) {
    const P = props.current
    const raw = e.dataTransfer.getData('application/x-mb-asset')
    if (!raw) return
    e.preventDefault()
    if (P.readOnly) return
    try {
      const a = JSON.parse(raw) as AssetInfo
      const { x, y } = local(e as unknown as PointerEvent)
      const idx = Math.floor((y + size.current.top) / TRACK_H)
      let track = P.state.tracks[idx]?.id
      if (!track) track = addTrack(P.doc, { name: a.filename.replace(/\.[^.]+$/, '').slice(0, 60) }, P.origin)
      const length = a.durationSec && a.durationSec > 0 ? a.durationSec : secondsPerBar(P.meter) * 4
      const id = addClip(P.doc, track, { assetId: a.id, position: snap(timeAt(x), P.snapUnit, P.meter), offset: 0, length, gain: 0, fadeIn: 0, fadeOut: 0 }, P.origin)
      P.setSelection({ trackId: track, clipId: id })
    } catch (err) {
      P.onError(err instanceof Error ? err.message : String(err))
    }
  }

  return (
    <div ref={wrapRef} className="relative h-full" onWheel={onWheel}>
      <canvas
        ref={canvasRef}
        tabIndex={0}
        role="application"
        aria-label="Timeline: click to move the playhead, drag on empty space to select a range, drag clips to move, edges to trim, top corners for fades; on a shown automation lane click to add a point, drag or use the arrow keys to move it, Alt+click, right-click or Delete to remove it"
        className="sticky top-0 block outline-none focus-visible:ring-1 focus-visible:ring-primary/60"
        style={{ cursor }}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onKeyDown={(e) => {
          const s = pointSel.current
          const P = props.current
          if (!s || P.readOnly || P.autoView[s.trackId] !== s.param || e.ctrlKey || e.metaKey || e.altKey) return
          const arrows: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }
          if (e.key !== 'Delete' && e.key !== 'Backspace' && !(e.key in arrows)) return
          // the point, not the selected clip (Studio's window listener): stop it here
          e.preventDefault()
          e.stopPropagation()
          if (!(e.key in arrows)) return deletePoint(s.trackId, s.param, s.point)
          // arrows move the point: a grid step in time (a beat when snap is off), 1/100 of the range in value (1/10 with Shift)
          const [dt, dv] = arrows[e.key]
          const spec = AUTO_PARAMS[s.param]
          const step = snapStep(P.snapUnit === 'off' ? 'beat' : P.snapUnit, P.meter)
          const vstep = ((spec.max - spec.min) / 100) * (e.shiftKey ? 10 : 1)
          try {
            const p = movePoint(P.doc, s.trackId, s.param, s.point, s.point[0] + dt * step, s.point[1] + dv * vstep, P.origin)
            pointSel.current = p ? { ...s, point: p } : null
          } catch (err) {
            P.onError(err instanceof Error ? err.message : String(err))
          }
          dirty.current = true
        }}
        onContextMenu={(e) => {
          const { x, y } = local(e as unknown as PointerEvent)
          const a = autoHit(x, y)
          if (!a || a.index < 0) return
          e.preventDefault()
          deletePoint(a.track.id, a.param, a.points[a.index])
        }}
        onPointerCancel={() => {
          drag.current = null
          dirty.current = true
        }}
        onDragOver={(e) => {
          if (e.dataTransfer.types.includes('application/x-mb-asset')) e.preventDefault()
        }}
        onDrop={onDrop}
        data-testid="timeline"
      />
      <RulerPortal rulerRef={rulerRef} timeAt={timeAt} props={props} drag={drag} dirty={dirty} />
    </div>
  )
}

/** The ruler lives above the lanes' scroll area (see Studio); this renders it into the slot there. */
function RulerPortal({
  rulerRef,
  timeAt,
  props,
  drag,
  dirty,
}: {
  rulerRef: React.RefObject<HTMLCanvasElement | null>
  timeAt: (x: number) => number
  props: React.RefObject<TimelineProps>
  drag: React.RefObject<Drag | null>
  dirty: React.RefObject<boolean>
}) {
  const [slot, setSlot] = React.useState<HTMLElement | null>(null)
  React.useEffect(() => setSlot(document.getElementById('ruler-slot')), [])
  if (!slot) return null
  const pos = (e: React.PointerEvent) => e.clientX - (e.currentTarget as HTMLElement).getBoundingClientRect().left
  return ReactDOMPortal(
    <canvas
      ref={rulerRef}
      className="block cursor-pointer"
      aria-label="Ruler: click to move the playhead, drag to set the loop range"
      onPointerDown={(e) => {
        ;(e.currentTarget as HTMLElement).setPointerCapture(e.pointerId)
        const P = props.current
        const t = snap(timeAt(pos(e)), P.snapUnit, P.meter)
        drag.current = { kind: 'ruler', t0: t, t1: t, moved: false }
      }}
      onPointerMove={(e) => {
        const d = drag.current
        if (d?.kind !== 'ruler') return
        const P = props.current
        d.t1 = snap(timeAt(pos(e)), P.snapUnit, P.meter)
        if (Math.abs(d.t1 - d.t0) > 1e-6) d.moved = true
        dirty.current = true
      }}
      onPointerUp={() => {
        const d = drag.current
        drag.current = null
        if (d?.kind !== 'ruler') return
        const P = props.current
        if (d.moved) {
          const r: [number, number] = [Math.min(d.t0, d.t1), Math.max(d.t0, d.t1)]
          P.setRange(r)
          P.transport.setLoop(r, true)
        } else P.transport.seek(d.t0)
        dirty.current = true
      }}
    />,
    slot,
  )
}


function drawClip(
  ctx: CanvasRenderingContext2D,
  P: TimelineProps,
  tr: Track,
  c: Clip,
  y: number,
  selected: boolean,
  remoteColor: string | undefined,
  w: number,
) {
  const pps = P.pxPerSec
  const x0 = (c.position - P.scrollX) * pps
  const x1 = (c.position + c.length - P.scrollX) * pps
  const top = y + 2
  const hgt = TRACK_H - 4
  const cx0 = Math.max(x0, -2)
  const cx1 = Math.min(x1, w + 2)
  if (cx1 <= cx0) return
  const color = tr.color || '#f59e0b'
  // a track that is not heard (muted, or another track is soloed) is drawn dimmed
  const silent = !audible(tr, P.state.tracks.some((t) => t.solo))
  // body
  ctx.fillStyle = hexA(color, silent ? 0.1 : 0.22)
  ctx.fillRect(cx0, top, cx1 - cx0, hgt)
  // title strip
  ctx.fillStyle = hexA(color, silent ? 0.3 : 0.75)
  ctx.fillRect(cx0, top, cx1 - cx0, 13)
  // waveform
  const asset = P.assets.get(c.assetId)
  const sr = asset?.sampleRate || 48000
  const spp = levelFor(pps, sr, asset?.peaksLevels)
  const peaks = c.assetId ? bestPeaks(c.assetId, spp) : undefined
  const mid = top + 13 + (hgt - 13) / 2
  const amp = (hgt - 17) / 2
  ctx.fillStyle = hexA(color, silent ? 0.35 : 0.9)
  if (peaks) {
    const pxPerPeak = (peaks.sampleRate / peaks.samplesPerPixel) / pps // peak pixels per screen pixel
    const g = Math.pow(10, c.gain / 20)
    const from = Math.max(Math.floor(cx0), Math.floor(x0))
    const to = Math.min(Math.ceil(cx1), Math.ceil(x1))
    for (let x = from; x < to; x++) {
      const tIn = (x - x0) / pps
      const pa = (c.offset + tIn) * pxPerPeak * pps
      let [lo, hi] = rangeAt(peaks, pa, pa + Math.max(1, pxPerPeak))
      let f = g
      if (c.fadeIn > 0 && tIn < c.fadeIn) f *= tIn / c.fadeIn
      const left = c.length - tIn
      if (c.fadeOut > 0 && left < c.fadeOut) f *= left / c.fadeOut
      lo = Math.max(-1, lo * f)
      hi = Math.min(1, hi * f)
      const yy = mid - hi * amp
      ctx.fillRect(x, yy, 1, Math.max(1, (hi - lo) * amp))
    }
  } else {
    ctx.fillRect(cx0, mid, cx1 - cx0, 1)
  }
  // fades
  ctx.strokeStyle = 'rgba(255,255,255,0.55)'
  ctx.beginPath()
  if (c.fadeIn > 0) {
    ctx.moveTo(x0, top + hgt)
    ctx.lineTo(x0 + c.fadeIn * pps, top + 13)
  }
  if (c.fadeOut > 0) {
    ctx.moveTo(x1 - c.fadeOut * pps, top + 13)
    ctx.lineTo(x1, top + hgt)
  }
  ctx.stroke()
  // fade handles
  if (!P.readOnly && selected) {
    ctx.fillStyle = '#fff'
    ctx.fillRect(x0 + c.fadeIn * pps - 3, top + 1, 6, 6)
    ctx.fillRect(x1 - c.fadeOut * pps - 3, top + 1, 6, 6)
  }
  // name
  if (x1 - x0 > 24) {
    ctx.save()
    ctx.beginPath()
    ctx.rect(cx0, top, cx1 - cx0, 13)
    ctx.clip()
    ctx.fillStyle = '#0b0b0b'
    ctx.font = '600 10px system-ui, sans-serif'
    ctx.textBaseline = 'top'
    const label = asset?.filename ?? (c.assetId ? 'audio' : 'empty clip')
    ctx.fillText(label + (c.gain ? `  ${c.gain > 0 ? '+' : ''}${c.gain.toFixed(1)} dB` : ''), Math.max(x0, 0) + 4, top + 2)
    ctx.restore()
  }
  // outline
  ctx.strokeStyle = selected ? '#ffffff' : remoteColor ?? hexA(color, 0.9)
  ctx.lineWidth = selected || remoteColor ? 2 : 1
  ctx.strokeRect(x0 + 0.5, top + 0.5, x1 - x0 - 1, hgt - 1)
  ctx.lineWidth = 1
}

/** An automation lane over a track row: a dimmed row, the line (held before the first and after the last point) and the points. */
function drawLane(
  ctx: CanvasRenderingContext2D,
  tr: Track,
  param: string,
  pts: AutoPoint[],
  y: number,
  w: number,
  xAt: (t: number) => number,
  sel: PointSel | null,
  dragged: AutoPoint | null,
) {
  const top = autoTop(y)
  const toY = (v: number) => valueToY(param, v, top, AUTO_H)
  ctx.fillStyle = 'rgba(8,9,12,0.5)'
  ctx.fillRect(0, y, w, TRACK_H)
  // 0 dB / centre reference
  const ref = toY(0)
  ctx.strokeStyle = 'rgba(255,255,255,0.08)'
  ctx.beginPath()
  ctx.moveTo(0, Math.round(ref) + 0.5)
  ctx.lineTo(w, Math.round(ref) + 0.5)
  ctx.stroke()
  // one colour for every lane, bright against any clip colour
  const color = '#fcd34d'
  ctx.font = '600 10px system-ui, sans-serif'
  ctx.textBaseline = 'top'
  const title = `${AUTO_PARAMS[param].label} automation`
  const tw = ctx.measureText(title).width + 10
  ctx.fillStyle = 'rgba(8,9,12,0.85)'
  ctx.fillRect(w - tw - 6, y + TRACK_H - 18, tw, 14)
  ctx.fillStyle = color
  ctx.fillText(title, w - tw - 1, y + TRACK_H - 16)
  if (pts.length === 0) {
    const v = param === 'pan' ? tr.pan : tr.volume
    ctx.strokeStyle = hexA(color, 0.6)
    ctx.setLineDash([4, 4])
    ctx.beginPath()
    ctx.moveTo(0, toY(v))
    ctx.lineTo(w, toY(v))
    ctx.stroke()
    ctx.setLineDash([])
    ctx.fillStyle = 'rgba(229,231,235,0.7)'
    ctx.fillText('Click to add a point', 6, y + TRACK_H - 16)
    return
  }
  ctx.strokeStyle = color
  ctx.lineWidth = 1.5
  ctx.beginPath()
  ctx.moveTo(0, toY(pts[0][1]))
  for (const p of pts) ctx.lineTo(xAt(p[0]), toY(p[1]))
  ctx.lineTo(w, toY(pts[pts.length - 1][1]))
  ctx.stroke()
  ctx.lineWidth = 1
  for (const p of pts) {
    const x = xAt(p[0])
    if (x < -6 || x > w + 6) continue
    const isSel = sel && sel.trackId === tr.id && sel.param === param && sel.point[0] === p[0] && sel.point[1] === p[1]
    ctx.beginPath()
    ctx.arc(x, toY(p[1]), isSel ? 4.5 : 3.5, 0, Math.PI * 2)
    ctx.fillStyle = isSel ? '#ffffff' : color
    ctx.fill()
    ctx.strokeStyle = '#0b0d11'
    ctx.stroke()
  }
  if (dragged) {
    const x = xAt(dragged[0])
    const yy = toY(dragged[1])
    const label = formatValue(param, dragged[1])
    const tw = ctx.measureText(label).width + 8
    const lx = Math.min(w - tw, x + 8)
    const ly = Math.max(y + 1, Math.min(yy - 7, y + TRACK_H - 15))
    ctx.fillStyle = 'rgba(0,0,0,0.8)'
    ctx.fillRect(lx, ly, tw, 14)
    ctx.fillStyle = '#fff'
    ctx.fillText(label, lx + 4, ly + 2)
  }
}
