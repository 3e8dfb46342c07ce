// Waveform peaks from GET /api/v1/assets/{id}/peaks?samplesPerPixel=N:
// the audiowaveform binary format (version 1 or 2, 8- or 16-bit, min/max
// per pixel per channel) or its JSON form.

export interface Peaks {
  sampleRate: number
  samplesPerPixel: number
  channels: number
  length: number // pixels
  bits: 8 | 16
  /** min/max pairs per pixel, channels interleaved, scaled to -1..1 */
  data: Float32Array
}

export function parsePeaksBinary(buf: ArrayBuffer): Peaks {
  if (buf.byteLength < 20) throw new Error('peaks: too short')
  const v = new DataView(buf)
  const version = v.getInt32(0, true)
  if (version !== 1 && version !== 2) throw new Error(`peaks: unknown version ${version}`)
  const flags = v.getUint32(4, true)
  const sampleRate = v.getInt32(8, true)
  const samplesPerPixel = v.getInt32(12, true)
  const length = v.getUint32(16, true)
  let channels = 1
  let off = 20
  if (version === 2) {
    if (buf.byteLength < 24) throw new Error('peaks: too short')
    channels = v.getInt32(20, true)
    off = 24
  }
  if (channels < 1 || channels > 32 || samplesPerPixel < 1) throw new Error('peaks: bad header')
  const bits: 8 | 16 = flags & 1 ? 8 : 16
  const count = length * channels * 2
  const need = off + count * (bits / 8)
  if (buf.byteLength < need) throw new Error('peaks: truncated')
  const data = new Float32Array(count)
  if (bits === 8) {
    for (let i = 0; i < count; i++) data[i] = v.getInt8(off + i) / 128
  } else {
    for (let i = 0; i < count; i++) data[i] = v.getInt16(off + i * 2, true) / 32768
  }
  return { sampleRate, samplesPerPixel, channels, length, bits, data }
}

export function parsePeaksJSON(j: {
  sample_rate: number
  samples_per_pixel: number
  channels?: number
  bits: number
  length: number
  data: number[]
}): Peaks {
  const bits: 8 | 16 = j.bits === 8 ? 8 : 16
  const scale = bits === 8 ? 128 : 32768
  const data = new Float32Array(j.data.length)
  for (let i = 0; i < j.data.length; i++) data[i] = j.data[i] / scale
  return {
    sampleRate: j.sample_rate,
    samplesPerPixel: j.samples_per_pixel,
    channels: j.channels ?? 1,
    length: j.length,
    bits,
    data,
  }
}

/**
 * The peaks resolution (samples per pixel) for a zoom: the coarsest of the
 * stored levels that is still at least as fine as one screen pixel, else
 * the finest stored; without a list, powers of two from 64 to 65536.
 */
export function levelFor(pxPerSec: number, sampleRate: number, levels?: number[]): number {
  const want = sampleRate / Math.max(1e-6, pxPerSec)
  if (levels && levels.length) {
    const sorted = [...levels].sort((a, b) => a - b)
    let pick = sorted[0]
    for (const l of sorted) if (l <= want) pick = l
    return pick
  }
  let spp = 64
  while (spp * 2 <= want && spp < 65536) spp *= 2
  return spp
}

/** max |amplitude| over channels for pixels [p0, p1) of the peaks, as min/max in -1..1. */
export function rangeAt(p: Peaks, p0: number, p1: number): [number, number] {
  let lo = 0
  let hi = 0
  const a = Math.max(0, Math.floor(p0))
  const b = Math.min(p.length, Math.max(a + 1, Math.ceil(p1)))
  for (let x = a; x < b; x++) {
    for (let c = 0; c < p.channels; c++) {
      const i = (x * p.channels + c) * 2
      if (p.data[i] < lo) lo = p.data[i]
      if (p.data[i + 1] > hi) hi = p.data[i + 1]
    }
  }
  return [lo, hi]
}

type Entry = { peaks?: Peaks; error?: string; promise?: Promise<void> }
const cache = new Map<string, Entry>()
const listeners = new Set<() => void>()

export function onPeaksLoaded(fn: () => void): () => void {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

/** Cached peaks for an asset at a resolution; starts loading and returns undefined when missing. */
export function getPeaks(assetId: string, spp: number): Peaks | undefined {
  const key = `${assetId}@${spp}`
  const e = cache.get(key)
  if (e) return e.peaks
  const entry: Entry = {}
  cache.set(key, entry)
  entry.promise = fetch(`/api/v1/assets/${encodeURIComponent(assetId)}/peaks?samplesPerPixel=${spp}`, { credentials: 'same-origin' })
    .then(async (res) => {
      if (!res.ok) throw new Error(`peaks ${res.status}`)
      const ct = res.headers.get('Content-Type') ?? ''
      entry.peaks = ct.includes('json') ? parsePeaksJSON(await res.json()) : parsePeaksBinary(await res.arrayBuffer())
    })
    .catch((err: unknown) => {
      entry.error = String(err)
      // retry later (the analysis job may not be done yet)
      setTimeout(() => cache.delete(key), 15000)
    })
    .finally(() => listeners.forEach((l) => l()))
  return undefined
}

/** Best available peaks at any resolution (finer first), so zooming never shows an empty clip. */
export function bestPeaks(assetId: string, spp: number): Peaks | undefined {
  const exact = getPeaks(assetId, spp)
  if (exact) return exact
  for (let s = spp / 2; s >= 64; s /= 2) {
    const e = cache.get(`${assetId}@${s}`)
    if (e?.peaks) return e.peaks
  }
  for (let s = spp * 2; s <= 65536; s *= 2) {
    const e = cache.get(`${assetId}@${s}`)
    if (e?.peaks) return e.peaks
  }
  return undefined
}
