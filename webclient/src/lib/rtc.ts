// Listening and live sessions over WebRTC (docs/rtc-protocol.md): the
// server offers, the browser answers (asking for stereo Opus); candidates
// trickle both ways and early ones wait for the remote description.
// Preview: one receive-only stereo track plus the `control` data channel
// (play/pause/seek/loop, shared by every listener). Live: the microphone
// goes out, every other participant comes in as its own stream.

export interface PreviewState {
  playing: boolean
  positionMs: number
  durationMs: number
  loopStartMs: number
  loopEndMs: number
  listeners: number
  ended: boolean
}

export interface LivePeer {
  peerId: string
  userId: string
  muted: boolean
  speaking: boolean
  level: number | null
}

export type RtcStatus = 'connecting' | 'connected' | 'closed'

/** Adds stereo=1 to the Opus fmtp lines (browsers downmix to mono otherwise). */
export function stereoSdp(sdp: string): string {
  const pt = /a=rtpmap:(\d+) opus\/48000\/2/i.exec(sdp)?.[1]
  if (!pt) return sdp
  return sdp.replace(new RegExp(`a=fmtp:${pt} ([^\\r\\n]*)`, 'g'), (line, params: string) =>
    /stereo=1/.test(params) ? line : `a=fmtp:${pt} ${params};stereo=1;sprop-stereo=1`,
  )
}

const CLOSE_REASONS: Record<number, string> = {
  4400: 'The server did not understand this client.',
  4401: 'Not signed in.',
  4403: 'Your role does not allow this (viewers can listen but not join live).',
  4404: 'There is nothing to play yet (no preview for this audio).',
  4408: 'The audio connection timed out.',
  4429: 'The room is full.',
  4503: 'Listening is not available on this server right now.',
}

/** Words for a signalling close code. */
export function closeReason(code: number, reason: string): string {
  return CLOSE_REASONS[code] ?? (reason || `The audio connection closed (${code}).`)
}

/** The most times a client joins again by itself (see rejoinDelay). */
export const MAX_REJOIN = 5

/**
 * How long to wait before joining again after signalling closed with
 * `code`, or null not to. A 4503 means the room's node went away or the
 * room moved to another node (docs/rtc-protocol.md), and a 1006 that the
 * connection dropped without a close (the network, or the node died):
 * joining again lands in the room wherever it now is, so both are retried
 * with backoff.
 */
export function rejoinDelay(code: number | undefined, attempt: number): number | null {
  if ((code !== 4503 && code !== 1006) || attempt >= MAX_REJOIN) return null
  return 500 * 2 ** attempt
}

interface Handlers {
  /** `code` is the signalling close code when the session closed because of it. */
  onStatus?: (s: RtcStatus, why?: string, code?: number) => void
  onStream?: (stream: MediaStream, peerId: string | null) => void
  onState?: (s: PreviewState) => void
  onMessage?: (m: Record<string, unknown>) => void
}

export class RtcSession {
  readonly pc: RTCPeerConnection
  private ws: WebSocket
  private pending: RTCIceCandidateInit[] = []
  private chain: Promise<void> = Promise.resolve()
  private control: RTCDataChannel | null = null
  private h: Handlers
  status: RtcStatus = 'connecting'

  constructor(projectId: string, join: Record<string, unknown>, h: Handlers, mic?: MediaStream, base: Location | URL = location) {
    this.h = h
    this.pc = new RTCPeerConnection()
    // added before the first offer, the microphone takes the server's receive-only section
    if (mic) for (const t of mic.getAudioTracks()) this.pc.addTrack(t, mic)
    const proto = base.protocol === 'https:' ? 'wss:' : 'ws:'
    this.ws = new WebSocket(`${proto}//${base.host}/rtc/${encodeURIComponent(projectId)}`)
    this.pc.ontrack = (e) => {
      const s = e.streams[0] ?? new MediaStream([e.track])
      h.onStream?.(s, e.streams[0]?.id ?? null)
    }
    this.pc.ondatachannel = (e) => {
      if (e.channel.label !== 'control') return
      this.control = e.channel
      e.channel.onmessage = (m) => {
        try {
          const st = JSON.parse(String(m.data))
          if (st.op === 'state') h.onState?.(st as PreviewState)
          // The server refuses a viewer's transport commands on this channel.
          if (st.op === 'error') h.onMessage?.({ type: 'error', code: st.code, message: st.error })
        } catch {
          /* ignore */
        }
      }
    }
    this.pc.onicecandidate = (e) => {
      if (e.candidate) this.send({ type: 'candidate', candidate: e.candidate.toJSON() })
    }
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'connected') this.setStatus('connected')
      if (this.pc.connectionState === 'failed') this.setStatus('closed', 'The audio connection failed.')
    }
    this.ws.onopen = () => this.send(join)
    this.ws.onmessage = (ev) => {
      let m: Record<string, unknown>
      try {
        m = JSON.parse(String(ev.data))
      } catch {
        return
      }
      this.chain = this.chain.then(() => this.handle(m)).catch((err) => h.onMessage?.({ type: 'error', message: String(err) }))
    }
    this.ws.onclose = (ev) => {
      if (ev.code !== 1000) console.warn('rtc: signalling closed', ev.code, ev.reason)
      this.setStatus('closed', ev.code === 1000 ? undefined : closeReason(ev.code, ev.reason), ev.code)
    }
  }

  private setStatus(s: RtcStatus, why?: string, code?: number) {
    if (this.status === 'closed') return
    this.status = s
    this.h.onStatus?.(s, why, code)
    if (s === 'closed') this.pc.close()
  }

  private send(m: unknown) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m))
  }

  private async handle(m: Record<string, unknown>) {
    switch (m.type) {
      case 'offer': {
        await this.pc.setRemoteDescription({ type: 'offer', sdp: String(m.sdp) })
        for (const c of this.pending.splice(0)) await this.pc.addIceCandidate(c)
        const answer = await this.pc.createAnswer()
        answer.sdp = stereoSdp(answer.sdp ?? '')
        await this.pc.setLocalDescription(answer)
        this.send({ type: 'answer', sdp: answer.sdp })
        break
      }
      case 'candidate': {
        const c = m.candidate as RTCIceCandidateInit
        if (this.pc.remoteDescription) await this.pc.addIceCandidate(c)
        else if (this.pending.length < 128) this.pending.push(c)
        break
      }
      default:
        this.h.onMessage?.(m)
    }
  }

  /** Preview transport: play, pause, seek (ms), loop (ms; 0,0 clears). */
  command(op: 'play' | 'pause' | 'seek' | 'loop', arg?: { ms?: number; loopStartMs?: number; loopEndMs?: number }) {
    if (this.control?.readyState === 'open') this.control.send(JSON.stringify({ op, ...arg }))
  }

  /** Live: mute or unmute oneself for everyone. */
  mute(muted: boolean) {
    this.send({ type: 'mute', muted })
  }

  close() {
    this.send({ type: 'leave' })
    this.setStatus('closed')
    this.ws.close(1000)
    this.pc.close()
  }
}
