import { describe, expect, it } from 'vitest'
import { levelFor, parsePeaksBinary, parsePeaksJSON, rangeAt } from './peaks'

function v2(bits: 8 | 16, channels: number, pairs: number[]): ArrayBuffer {
  const size = bits / 8
  const buf = new ArrayBuffer(24 + pairs.length * size)
  const v = new DataView(buf)
  v.setInt32(0, 2, true)
  v.setUint32(4, bits === 8 ? 1 : 0, true)
  v.setInt32(8, 48000, true)
  v.setInt32(12, 256, true)
  v.setUint32(16, pairs.length / 2 / channels, true)
  v.setInt32(20, channels, true)
  pairs.forEach((p, i) => (bits === 8 ? v.setInt8(24 + i, p) : v.setInt16(24 + i * 2, p, true)))
  return buf
}

describe('audiowaveform peaks', () => {
  it('parses version 2, 16-bit, stereo', () => {
    const p = parsePeaksBinary(v2(16, 2, [-16384, 16384, -32768, 0, -100, 200, 0, 32767]))
    expect(p).toMatchObject({ sampleRate: 48000, samplesPerPixel: 256, channels: 2, length: 2, bits: 16 })
    expect(p.data[0]).toBeCloseTo(-0.5)
    expect(rangeAt(p, 0, 1)).toEqual([-1, 0.5])
    const [lo, hi] = rangeAt(p, 1, 2)
    expect(lo).toBeCloseTo(-100 / 32768)
    expect(hi).toBeCloseTo(32767 / 32768)
  })
  it('parses 8-bit and version 1', () => {
    const p8 = parsePeaksBinary(v2(8, 1, [-64, 64]))
    expect(p8.data[1]).toBeCloseTo(0.5)
    const buf = new ArrayBuffer(24)
    const v = new DataView(buf)
    v.setInt32(0, 1, true)
    v.setInt32(8, 44100, true)
    v.setInt32(12, 512, true)
    v.setUint32(16, 1, true)
    v.setInt16(20, -1, true)
    v.setInt16(22, 1, true)
    expect(parsePeaksBinary(buf)).toMatchObject({ channels: 1, length: 1, sampleRate: 44100 })
  })
  it('rejects bad input', () => {
    expect(() => parsePeaksBinary(new ArrayBuffer(4))).toThrow()
    const bad = v2(16, 1, [1, 2])
    new DataView(bad).setInt32(0, 9, true)
    expect(() => parsePeaksBinary(bad)).toThrow(/version/)
    expect(() => parsePeaksBinary(v2(16, 1, [1, 2, 3, 4]).slice(0, 26))).toThrow(/truncated/)
  })
  it('parses the JSON form', () => {
    const p = parsePeaksJSON({ sample_rate: 48000, samples_per_pixel: 512, bits: 8, length: 1, channels: 1, data: [-128, 127] })
    expect(p.data[0]).toBe(-1)
  })
  it('picks a resolution for the zoom', () => {
    expect(levelFor(48000 / 256, 48000)).toBe(256)
    expect(levelFor(100000, 48000)).toBe(64)
    expect(levelFor(0.01, 48000)).toBe(65536)
    expect(levelFor(48000 / 1000, 48000, [4096, 256, 1024])).toBe(256)
    expect(levelFor(48000 / 5000, 48000, [4096, 256, 1024])).toBe(4096)
    expect(levelFor(48000 / 10, 48000, [4096, 256, 1024])).toBe(256)
  })
})
