// Playback: the transport clock, and the mix of every audible clip through
// Web Audio (each asset's Ogg Opus preview, decoded once). Clip gain and
// fades, track volume, pan (or their automation lanes, when they have
// points), mute and solo are applied; inserts are not (the server-rendered
// project mix, rtc.Mix, plays them).
import { audible, type DocState } from '@/lib/doc'
import { dbToGain } from '@/lib/time'
import { automationEvents, mergeLanes } from '@/lib/automation'

type Listener = () => void

export class Transport {
  playing = false
  private startPos = 0
  private startClock = 0
  private ctx: AudioContext | null = null
  private nodes: AudioNode[] = []
  private buffers = new Map<string, Promise<AudioBuffer | null>>()
  private listeners = new Set<Listener>()
  loop: [number, number] | null = null
  loopOn = false
  private state: DocState | null = null
  private pos = 0

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }
  private emit() {
    this.listeners.forEach((l) => l())
  }

  private clock(): number {
    return this.ctx ? this.ctx.currentTime : performance.now() / 1000
  }

  /** The playhead in seconds (advances while playing, wraps in the loop). */
  position(): number {
    if (!this.playing) return this.pos
    let p = this.startPos + (this.clock() - this.startClock)
    if (this.loopOn && this.loop && this.loop[1] > this.loop[0] && p >= this.loop[1]) {
      // wrap and reschedule
      this.startPos = this.loop[0]
      this.startClock = this.clock()
      p = this.loop[0]
      this.schedule()
    }
    return p
  }

  setDoc(s: DocState) {
    const changed = this.state !== null && this.playing && mixKey(this.state) !== mixKey(s)
    this.state = s
    if (changed) this.reschedule()
  }

  play() {
    if (this.playing) return
    try {
      this.ctx ??= new AudioContext({ latencyHint: 'interactive' })
      void this.ctx.resume()
    } catch {
      this.ctx = null
    }
    this.playing = true
    this.startPos = this.pos
    this.startClock = this.clock()
    this.schedule()
    this.emit()
  }

  pause() {
    if (!this.playing) return
    this.pos = this.position()
    this.playing = false
    this.stopNodes()
    this.emit()
  }

  toggle() {
    if (this.playing) this.pause()
    else this.play()
  }

  seek(t: number) {
    this.pos = Math.max(0, t)
    if (this.playing) {
      this.startPos = this.pos
      this.startClock = this.clock()
      this.schedule()
    }
    this.emit()
  }

  setLoop(range: [number, number] | null, on?: boolean) {
    this.loop = range
    if (on !== undefined) this.loopOn = on
    this.emit()
  }

  private reschedule() {
    this.startPos = this.position()
    this.startClock = this.clock()
    this.schedule()
  }

  private stopNodes() {
    for (const n of this.nodes) {
      try {
        if (n instanceof AudioScheduledSourceNode) n.stop()
        n.disconnect()
      } catch {
        /* already stopped */
      }
    }
    this.nodes = []
  }

  private buffer(assetId: string): Promise<AudioBuffer | null> {
    let p = this.buffers.get(assetId)
    if (!p) {
      const ctx = this.ctx!
      p = fetch(`/api/v1/assets/${encodeURIComponent(assetId)}/preview`, { credentials: 'same-origin' })
        .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(String(r.status)))))
        .then((b) => ctx.decodeAudioData(b))
        .catch(() => {
          this.buffers.delete(assetId)
          return null
        })
      this.buffers.set(assetId, p)
    }
    return p
  }

  private schedule() {
    this.stopNodes()
    const ctx = this.ctx
    const s = this.state
    if (!ctx || !s) return
    const startPos = this.startPos
    const startClock = this.startClock
    const end = this.loopOn && this.loop && this.loop[1] > this.loop[0] ? this.loop[1] : Infinity
    const anySolo = s.tracks.some((t) => t.solo)
    for (const t of s.tracks) {
      if (!audible(t, anySolo)) continue
      const tg = ctx.createGain()
      tg.gain.value = dbToGain(t.volume)
      const pan = ctx.createStereoPanner()
      pan.pan.value = Math.max(-1, Math.min(1, t.pan))
      tg.connect(pan).connect(ctx.destination)
      this.nodes.push(tg, pan)
      // automation lanes with points take over from the track's volume and pan
      const lanes = mergeLanes(t.automation)
      const follow = (param: AudioParam, name: string, map: (v: number) => number) => {
        for (const e of automationEvents(lanes.get(name)?.points ?? [], startPos, end)) {
          const at = startClock + (e.time - startPos)
          if (e.ramp) param.linearRampToValueAtTime(map(e.value), at)
          else param.setValueAtTime(map(e.value), Math.max(ctx.currentTime, at))
        }
      }
      follow(tg.gain, 'volume', dbToGain)
      follow(pan.pan, 'pan', (v) => Math.max(-1, Math.min(1, v)))
      for (const c of t.clips) {
        const cEnd = Math.min(c.position + c.length, end)
        if (cEnd <= startPos || !c.assetId) continue
        void this.buffer(c.assetId).then((buf) => {
          if (!buf || !this.playing || this.startClock !== startClock) return
          const from = Math.max(startPos, c.position)
          const when = startClock + (from - startPos)
          const offset = c.offset + (from - c.position)
          const dur = cEnd - from
          if (dur <= 0) return
          const src = ctx.createBufferSource()
          src.buffer = buf
          const g = ctx.createGain()
          const lin = dbToGain(c.gain)
          const now = Math.max(ctx.currentTime, when)
          const tIn = c.position - startPos + startClock // clip start on the clock
          g.gain.setValueAtTime(fadeGain(c, from) * lin, now)
          if (c.fadeIn > 0 && from < c.position + c.fadeIn) g.gain.linearRampToValueAtTime(lin, tIn + c.fadeIn)
          if (c.fadeOut > 0) {
            const foStart = tIn + c.length - c.fadeOut
            if (foStart > now) g.gain.setValueAtTime(lin, foStart)
            g.gain.linearRampToValueAtTime(0, tIn + c.length)
          }
          src.connect(g).connect(tg)
          src.start(now, Math.max(0, offset + (now - when)), dur)
          this.nodes.push(src, g)
        })
      }
    }
  }

  dispose() {
    this.stopNodes()
    void this.ctx?.close()
    this.ctx = null
  }
}

function fadeGain(c: { position: number; length: number; fadeIn: number; fadeOut: number }, at: number): number {
  const into = at - c.position
  let g = 1
  if (c.fadeIn > 0 && into < c.fadeIn) g = Math.min(g, into / c.fadeIn)
  const left = c.position + c.length - at
  if (c.fadeOut > 0 && left < c.fadeOut) g = Math.min(g, left / c.fadeOut)
  return Math.max(0, g)
}

/** What the mix depends on, to reschedule only when it changed. */
function mixKey(s: DocState): string {
  return JSON.stringify(s.tracks.map((t) => [t.volume, t.pan, t.mute, t.solo, t.clips, t.automation]))
}
