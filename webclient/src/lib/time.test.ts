import { describe, expect, it } from 'vitest'
import { formatBarsBeats, formatClock, gridLines, secondsPerBar, secondsPerBeat, snap, snapStep, toBarsBeats, dbToGain } from './time'

const m44 = { tempo: 120, num: 4, den: 4 }
const m68 = { tempo: 90, num: 6, den: 8 }

describe('bar/beat maths', () => {
  it('beat and bar lengths follow tempo and meter', () => {
    expect(secondsPerBeat(m44)).toBeCloseTo(0.5)
    expect(secondsPerBar(m44)).toBeCloseTo(2)
    // 6/8 at 90 quarter-BPM: an eighth is 1/3 s, a bar 2 s
    expect(secondsPerBeat(m68)).toBeCloseTo(1 / 3)
    expect(secondsPerBar(m68)).toBeCloseTo(2)
  })
  it('converts seconds to bars.beats.ticks', () => {
    expect(toBarsBeats(0, m44)).toEqual({ bar: 1, beat: 1, tick: 0 })
    expect(toBarsBeats(2, m44)).toEqual({ bar: 2, beat: 1, tick: 0 })
    expect(toBarsBeats(2.75, m44)).toEqual({ bar: 2, beat: 2, tick: 480 })
    expect(toBarsBeats(-1, m44)).toEqual({ bar: 1, beat: 1, tick: 0 })
    // floating noise just under a beat is that beat
    expect(toBarsBeats(0.49999999999, m44).beat).toBe(2)
    expect(formatBarsBeats(2.75, m44)).toBe('2.2.48')
    expect(formatBarsBeats(4 / 3, m68)).toBe('1.5.00')
  })
  it('formats a clock', () => {
    expect(formatClock(0)).toBe('00:00.000')
    expect(formatClock(83.5)).toBe('01:23.500')
  })
  it('dB to gain', () => {
    expect(dbToGain(0)).toBe(1)
    expect(dbToGain(-6)).toBeCloseTo(0.501, 3)
    expect(dbToGain(-Infinity)).toBe(0)
  })
})

describe('snapping', () => {
  it('steps per unit', () => {
    expect(snapStep('off', m44)).toBe(0)
    expect(snapStep('bar', m44)).toBeCloseTo(2)
    expect(snapStep('beat', m44)).toBeCloseTo(0.5)
    expect(snapStep('1/16', m44)).toBeCloseTo(0.125)
    expect(snapStep('beat', m68)).toBeCloseTo(1 / 3)
  })
  it('snaps to the nearest line and never below zero', () => {
    expect(snap(0.74, 'beat', m44)).toBeCloseTo(0.5)
    expect(snap(0.76, 'beat', m44)).toBeCloseTo(1)
    expect(snap(2.9, 'bar', m44)).toBeCloseTo(2)
    expect(snap(3.1, 'bar', m44)).toBeCloseTo(4)
    expect(snap(-0.3, 'beat', m44)).toBe(0)
    expect(snap(1.234, 'off', m44)).toBe(1.234)
  })
})

describe('grid lines', () => {
  it('marks bars at level 0 and beats at level 1 when there is room', () => {
    const g = gridLines(0, 4, 100, m44, 6)
    const bars = g.filter((l) => l.level === 0).map((l) => l.bar)
    expect(bars).toEqual([1, 2, 3])
    expect(g.filter((l) => l.level === 1).length).toBe(6) // beats 2-4 of bars 1 and 2
    expect(g.every((l, i) => i === 0 || l.time > g[i - 1].time)).toBe(true)
  })
  it('thins out when zoomed far out', () => {
    const g = gridLines(0, 600, 2, m44, 6)
    expect(g.every((l) => l.level === 0)).toBe(true)
    // a bar is 4 px at 2 px/s: only every 4th bar is drawn
    expect(g.length).toBeLessThan(100)
  })
})
