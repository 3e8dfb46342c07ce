// Musical time: the document stores seconds; the UI shows bars and beats.
// A beat is one 1/timeSigDen note; tempo is quarter-note BPM.

export interface Meter {
  tempo: number // quarter notes per minute
  num: number // beats per bar
  den: number // beat unit (4 = quarter note)
}

export const DEFAULT_METER: Meter = { tempo: 120, num: 4, den: 4 }

/** Seconds one beat lasts (a beat is a 1/den note, tempo counts quarters). */
export function secondsPerBeat(m: Meter): number {
  return (60 / m.tempo) * (4 / m.den)
}

export function secondsPerBar(m: Meter): number {
  return secondsPerBeat(m) * m.num
}

/** Position in bars (1-based), beats (1-based) and ticks (0..959) for a time in seconds. */
export function toBarsBeats(seconds: number, m: Meter): { bar: number; beat: number; tick: number } {
  const beats = Math.max(0, seconds) / secondsPerBeat(m)
  // round away floating noise (0.9999999 beats is one beat)
  const whole = Math.floor(beats + 1e-9)
  const tick = Math.min(959, Math.floor((beats - whole) * 960 + 1e-6))
  return { bar: Math.floor(whole / m.num) + 1, beat: (whole % m.num) + 1, tick: Math.max(0, tick) }
}

export function formatBarsBeats(seconds: number, m: Meter): string {
  const { bar, beat, tick } = toBarsBeats(seconds, m)
  return `${bar}.${beat}.${String(Math.floor(tick / 10)).padStart(2, '0')}`
}

/** mm:ss.mmm */
export function formatClock(seconds: number): string {
  const s = Math.max(0, seconds)
  const m = Math.floor(s / 60)
  const rest = s - m * 60
  return `${String(m).padStart(2, '0')}:${rest.toFixed(3).padStart(6, '0')}`
}

export type SnapUnit = 'off' | 'bar' | 'beat' | '1/8' | '1/16' | '1/32'

export const SNAP_UNITS: SnapUnit[] = ['off', 'bar', 'beat', '1/8', '1/16', '1/32']

/** Grid step in seconds for a snap unit (0 for off). Note values are whole-note fractions. */
export function snapStep(unit: SnapUnit, m: Meter): number {
  const quarter = 60 / m.tempo
  switch (unit) {
    case 'off':
      return 0
    case 'bar':
      return secondsPerBar(m)
    case 'beat':
      return secondsPerBeat(m)
    case '1/8':
      return quarter / 2
    case '1/16':
      return quarter / 4
    case '1/32':
      return quarter / 8
  }
}

/** Snap a time to the nearest grid line; never below zero. */
export function snap(seconds: number, unit: SnapUnit, m: Meter): number {
  const step = snapStep(unit, m)
  if (step <= 0) return Math.max(0, seconds)
  return Math.max(0, Math.round(seconds / step) * step)
}

/**
 * The grid lines to draw between t0 and t1 at a zoom (pixels per second):
 * bars always, beats and subdivisions only when they are at least minPx apart.
 */
export function gridLines(
  t0: number,
  t1: number,
  pxPerSec: number,
  m: Meter,
  minPx = 6,
): { time: number; level: 0 | 1 | 2; bar: number }[] {
  const bar = secondsPerBar(m)
  const beat = secondsPerBeat(m)
  let sub = beat / 4
  while (sub * pxPerSec < minPx && sub < beat) sub *= 2
  let barEvery = 1
  while (bar * barEvery * pxPerSec < minPx * 4) barEvery *= 2
  const showBeats = beat * pxPerSec >= minPx
  const showSub = sub < beat && sub * pxPerSec >= minPx
  const step = showSub ? sub : showBeats ? beat : bar * barEvery
  const out: { time: number; level: 0 | 1 | 2; bar: number }[] = []
  const start = Math.max(0, Math.floor(t0 / step) * step)
  for (let i = Math.round(start / step); i * step <= t1 + 1e-9; i++) {
    const t = i * step
    const inBar = t / bar
    const barIdx = Math.round(inBar)
    const onBar = Math.abs(inBar - barIdx) < 1e-6
    if (onBar) {
      if (barIdx % barEvery === 0) out.push({ time: t, level: 0, bar: barIdx + 1 })
      continue
    }
    const inBeat = t / beat
    const onBeat = Math.abs(inBeat - Math.round(inBeat)) < 1e-6
    out.push({ time: t, level: onBeat ? 1 : 2, bar: Math.floor(inBar + 1e-9) + 1 })
  }
  return out
}

export function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v))
}

/** dB to linear gain; -Infinity and below -120 dB are silence. */
export function dbToGain(db: number): number {
  if (!Number.isFinite(db) || db <= -120) return 0
  return Math.pow(10, db / 20)
}
