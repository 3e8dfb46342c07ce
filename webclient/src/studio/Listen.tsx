import { expose } from '@/lib/testhooks'
import * as React from 'react'
import { Headphones, Mic, MicOff, Pause, Play, PhoneOff, Repeat, Radio } from 'lucide-react'
import type { Asset } from '@/lib/api'
import { MAX_REJOIN, rejoinDelay, RtcSession, type LivePeer, type PreviewState, type RtcStatus } from '@/lib/rtc'
import { colorFor } from '@/lib/colors'
import { formatClock } from '@/lib/time'
import { cn } from '@/lib/utils'
import { Button } from '@/components/ui/button'
import { Select } from '@/components/ui/input'
import { Alert, Avatar, Badge } from '@/components/ui/misc'

function useAudioSink() {
  const ref = React.useRef<HTMLAudioElement>(null)
  const attach = React.useCallback((s: MediaStream) => {
    if (ref.current) {
      ref.current.srcObject = s
      void ref.current.play().catch(() => {})
    }
  }, [])
  return { ref, attach }
}

/**
 * Joining again by itself after the server closes with 4503 (the room's
 * node went away, or the room moved to another node) or the connection
 * drops without a close (1006; rejoinDelay says which): `closed` schedules
 * join and returns what to show, or null when it gives up or the close was
 * something else; `connected` resets the count, `cancel` stops it (the
 * user left).
 */
function useRejoin() {
  const r = React.useRef<{ n: number; timer: ReturnType<typeof setTimeout> | undefined }>({ n: 0, timer: undefined })
  React.useEffect(() => () => clearTimeout(r.current.timer), [])
  return React.useMemo(
    () => ({
      closed(code: number | undefined, join: () => void): string | null {
        const d = rejoinDelay(code, r.current.n)
        if (d === null) return null
        r.current.n++
        r.current.timer = setTimeout(join, d)
        return `Reconnecting (${r.current.n}/${MAX_REJOIN})…`
      },
      connected() {
        r.current.n = 0
      },
      cancel() {
        clearTimeout(r.current.timer)
        r.current.n = 0
      },
    }),
    [],
  )
}

/** Server-rendered preview of the project mix or one asset, with a shared transport. */
function PreviewPlayer({ projectId, assets, playhead, range, readOnly }: { projectId: string; assets: Asset[]; playhead: () => number; range: [number, number] | null; readOnly: boolean }) {
  const [source, setSource] = React.useState('')
  const [session, setSession] = React.useState<RtcSession | null>(null)
  const [status, setStatus] = React.useState<RtcStatus | 'idle'>('idle')
  const [why, setWhy] = React.useState<string | null>(null)
  const [st, setSt] = React.useState<PreviewState | null>(null)
  const [volume, setVolume] = React.useState(0.9)
  const sink = useAudioSink()
  const rejoin = useRejoin()
  React.useEffect(() => () => session?.close(), [session])
  React.useEffect(() => {
    if (sink.ref.current) sink.ref.current.volume = volume
  }, [volume, sink.ref])

  function join() {
    session?.close()
    setWhy(null)
    setSt(null)
    setStatus('connecting')
    const s = new RtcSession(projectId, source ? { type: 'join', mode: 'preview', assetId: source } : { type: 'join', mode: 'preview' }, {
      onStatus: (x, w, code) => {
        setStatus(x)
        if (x === 'connected') rejoin.connected()
        const again = x === 'closed' ? rejoin.closed(code, join) : null
        if (w) setWhy(again ? `${w} ${again}` : w)
      },
      onStream: (stream) => sink.attach(stream),
      onState: (x) => {
        setSt(x)
        expose('__mbPreviewState', x)
      },
      onMessage: (m) => m.type === 'error' && setWhy(String(m.message ?? m.code)),
    })
    setSession(s)
    expose('__mbPreview', s)
  }
  const live = session && status !== 'closed'
  const ready = assets.filter((a) => a.previewReady)
  return (
    <section className="border-b border-border p-3" aria-label="Preview">
      <h3 className="mb-2 flex items-center gap-1.5 text-[11px] font-semibold uppercase tracking-wider text-muted-foreground">
        <Headphones className="size-3.5" /> Listen together
      </h3>
      <div className="flex gap-2">
        <Select aria-label="What to listen to" value={source} onChange={(e) => setSource(e.target.value)} className="min-w-0 flex-1" disabled={!!live}>
          <option value="">Project mix (server render)</option>
          {ready.map((a) => (
            <option key={a.id} value={a.id}>
              {a.filename}
            </option>
          ))}
        </Select>
        {live ? (
          <Button
            size="sm"
            variant="secondary"
            onClick={() => {
              rejoin.cancel()
              session.close()
            }}
          >
            Stop
          </Button>
        ) : (
          <Button size="sm" onClick={join}>
            Connect
          </Button>
        )}
      </div>
      <audio ref={sink.ref} autoPlay className="hidden" data-testid="preview-audio" />
      {why && <Alert tone="warn" className="mt-2 py-1 text-[12px]">{why}</Alert>}
      {live && readOnly && <p className="mt-1 text-[11px] text-muted-foreground">Viewers listen along; owners and editors run the shared transport.</p>}
      {live && (
        <div className="mt-2 grid gap-2">
          <div className="flex items-center gap-2">
            <Button
              size="icon"
              aria-label={st?.playing ? 'Pause preview' : 'Play preview'}
              disabled={readOnly || status !== 'connected' || !st}
              onClick={() => session.command(st?.playing ? 'pause' : 'play')}
              className="rounded-full"
            >
              {st?.playing ? <Pause className="fill-current" /> : <Play className="fill-current" />}
            </Button>
            <Button size="sm" variant="ghost" disabled={readOnly || !st} onClick={() => session.command('seek', { ms: Math.round(playhead() * 1000) })}>
              From playhead
            </Button>
            <Button
              size="icon-sm"
              variant="ghost"
              aria-label="Loop the selected range in the preview"
              disabled={readOnly || !st || !range}
              className={st && st.loopEndMs > 0 ? 'text-primary' : ''}
              onClick={() =>
                st && st.loopEndMs > 0
                  ? session.command('loop', { loopStartMs: 0, loopEndMs: 0 })
                  : range && session.command('loop', { loopStartMs: Math.round(range[0] * 1000), loopEndMs: Math.round(range[1] * 1000) })
              }
            >
              <Repeat />
            </Button>
            <span className="lcd ml-auto text-[12px] text-amber-300" data-testid="preview-position">
              {formatClock((st?.positionMs ?? 0) / 1000)}
            </span>
          </div>
          <input
            type="range"
            aria-label="Preview position"
            min={0}
            max={Math.max(1, st?.durationMs ?? 1)}
            value={st?.positionMs ?? 0}
            disabled={readOnly || !st}
            onChange={(e) => session.command('seek', { ms: Number(e.target.value) })}
            className="h-1 w-full accent-primary"
          />
          <div className="flex items-center gap-2 text-[11px] text-muted-foreground">
            <span>{status === 'connected' ? 'connected' : 'connecting…'}</span>
            {st && <span>· {st.listeners} listening</span>}
            {st?.ended && <Badge>ended</Badge>}
            <input type="range" aria-label="Preview volume" min={0} max={1} step={0.01} value={volume} onChange={(e) => setVolume(Number(e.target.value))} className="ml-auto h-1 w-20 accent-zinc-400" />
          </div>
        </div>
      )}
    </section>
  )
}

/** The live session: microphone out, everyone else in, speaking indicators. */
function LiveSession({ projectId, readOnly, names }: { projectId: string; readOnly: boolean; names: Map<string, string> }) {
  const [session, setSession] = React.useState<RtcSession | null>(null)
  const [status, setStatus] = React.useState<RtcStatus | 'idle'>('idle')
  const [why, setWhy] = React.useState<string | null>(null)
  const [peers, setPeers] = React.useState<Map<string, LivePeer>>(new Map())
  const [me, setMe] = React.useState<{ peerId: string; muted: boolean } | null>(null)
  const mic = React.useRef<MediaStream | null>(null)
  const audios = React.useRef<HTMLDivElement>(null)
  const rejoin = useRejoin()
  React.useEffect(() => () => session?.close(), [session])
  // The microphone stops on leave, on a new join and when the panel goes
  // (not when a session is replaced: a rejoin's new microphone stays on).
  React.useEffect(() => () => mic.current?.getTracks().forEach((t) => t.stop()), [])

  async function join() {
    setWhy(null)
    setStatus('connecting')
    mic.current?.getTracks().forEach((t) => t.stop())
    mic.current = null
    setPeers(new Map())
    if (audios.current) audios.current.innerHTML = ''
    try {
      mic.current = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } })
    } catch {
      setStatus('idle')
      setWhy('No microphone: allow microphone access for this site and try again.')
      return
    }
    const upd = (f: (m: Map<string, LivePeer>) => void) =>
      setPeers((old) => {
        const m = new Map(old)
        f(m)
        return m
      })
    const s = new RtcSession(
      projectId,
      { type: 'join', mode: 'live' },
      {
        onStatus: (x, w, code) => {
          setStatus(x)
          if (x === 'connected') rejoin.connected()
          const again = x === 'closed' ? rejoin.closed(code, () => void join()) : null
          if (w) setWhy(again ? `${w} ${again}` : w)
        },
        onStream: (stream, id) => {
          const el = document.createElement('audio')
          el.autoplay = true
          el.srcObject = stream
          el.dataset.peer = id ?? ''
          audios.current?.appendChild(el)
        },
        onMessage: (m) => {
          const peerId = String(m.peerId ?? '')
          switch (m.type) {
            case 'welcome':
              setMe({ peerId, muted: false })
              upd((mm) => {
                for (const p of (m.peers as LivePeer[]) ?? []) mm.set(p.peerId, { ...p, speaking: false, level: null })
              })
              break
            case 'joined':
              upd((mm) => mm.set(peerId, { peerId, userId: String(m.userId), muted: false, speaking: false, level: null }))
              break
            case 'left':
              upd((mm) => mm.delete(peerId))
              audios.current?.querySelector(`audio[data-peer="${CSS.escape(peerId)}"]`)?.remove()
              break
            case 'muted':
              upd((mm) => {
                const p = mm.get(peerId)
                if (p) mm.set(peerId, { ...p, muted: m.muted === true })
              })
              break
            case 'speaking':
              upd((mm) => {
                const p = mm.get(peerId)
                if (p) mm.set(peerId, { ...p, speaking: m.speaking === true, level: typeof m.level === 'number' ? m.level : null })
              })
              break
            case 'error':
              setWhy(String(m.message ?? m.code))
          }
        },
      },
      mic.current,
    )
    setSession(s)
    expose('__mbLive', s)
  }

  function leave() {
    rejoin.cancel()
    session?.close()
    mic.current?.getTracks().forEach((t) => t.stop())
    mic.current = null
    setSession(null)
    setStatus('idle')
    setPeers(new Map())
    setMe(null)
    if (audios.current) audios.current.innerHTML = ''
  }

  const live = session && status !== 'closed'
  return (
    <section className="p-3" aria-label="Live session">
      <h3 className="mb-2 flex items-center gap-1.5 text-[11px] font-semibold uppercase tracking-wider text-muted-foreground">
        <Radio className="size-3.5" /> Live session
      </h3>
      {!live ? (
        <Button size="sm" onClick={join} disabled={readOnly || status === 'connecting'} className="w-full">
          <Mic /> Join with microphone
        </Button>
      ) : (
        <div className="flex gap-2">
          <Button
            size="sm"
            variant={me?.muted ? 'destructive' : 'secondary'}
            aria-pressed={me?.muted}
            aria-label={me?.muted ? 'Unmute my microphone' : 'Mute my microphone'}
            onClick={() => {
              const muted = !me?.muted
              session.mute(muted)
              mic.current?.getAudioTracks().forEach((t) => (t.enabled = !muted))
              setMe((x) => (x ? { ...x, muted } : x))
            }}
          >
            {me?.muted ? <MicOff /> : <Mic />} {me?.muted ? 'Unmute' : 'Mute'}
          </Button>
          <Button size="sm" variant="outline" onClick={leave}>
            <PhoneOff /> Leave
          </Button>
        </div>
      )}
      {readOnly && <p className="mt-1 text-[11px] text-muted-foreground">Viewers can listen to previews; live sessions are for editors.</p>}
      {why && <Alert tone="warn" className="mt-2 py-1 text-[12px]">{why}</Alert>}
      {live && (
        <ul className="mt-2 grid gap-1" aria-label="Participants" data-testid="live-peers">
          <li className="flex items-center gap-2 text-[12px]">
            <span className="size-2 rounded-full bg-emerald-400" /> You {status === 'connected' ? '' : '(connecting…)'}
          </li>
          {[...peers.values()].map((p) => {
            const name = names.get(p.userId) ?? 'Collaborator'
            return (
              <li key={p.peerId} className="flex items-center gap-2 text-[12px]" data-speaking={p.speaking}>
                <Avatar name={name} color={colorFor(p.userId)} className={cn('size-6 text-[10px] transition-shadow', p.speaking && 'shadow-[0_0_0_3px_rgba(52,211,153,0.8)]')} />
                <span className="flex-1 truncate">{name}</span>
                {p.muted ? <MicOff className="size-3.5 text-red-400" aria-label="muted" /> : p.speaking ? <Badge tone="ok">speaking</Badge> : null}
              </li>
            )
          })}
        </ul>
      )}
      <div ref={audios} className="hidden" />
    </section>
  )
}

export function ListenPanel(p: { projectId: string; assets: Asset[]; playhead: () => number; range: [number, number] | null; readOnly: boolean; names: Map<string, string> }) {
  return (
    <div>
      <PreviewPlayer projectId={p.projectId} assets={p.assets} playhead={p.playhead} range={p.range} readOnly={p.readOnly} />
      <LiveSession projectId={p.projectId} readOnly={p.readOnly} names={p.names} />
    </div>
  )
}
