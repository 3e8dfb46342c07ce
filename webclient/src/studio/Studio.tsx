// The studio view of one project, live through its Y.Doc.
import { expose } from '@/lib/testhooks'
import * as React from 'react'
import * as Y from 'yjs'
import {
  ArrowLeft, CloudOff, Eye, Flag, Loader2, Magnet, Pause, Play, Plus, Redo2, Repeat, Scissors, SkipBack, Undo2, Wifi, ZoomIn, ZoomOut,
} from 'lucide-react'
import { api, type Asset, type Member } from '@/lib/api'
import { ProjectSession, colorFor, type SessionStatus } from '@/lib/collab'
import {
  addMarker, addTrack, createUndoManager, ensureSettings, projectEnd, removeClip, setSettings, splitClip, VALID_DENOMINATORS, type DocState,
} from '@/lib/doc'
import { clamp, formatBarsBeats, formatClock, secondsPerBar, snapStep, SNAP_UNITS, type Meter, type SnapUnit } from '@/lib/time'
import * as ops from '@/lib/doc'
import * as auto from '@/lib/automation'
import { useAuth, Link } from '@/App'
import { cn } from '@/lib/utils'
import { Button } from '@/components/ui/button'
import { Alert, Avatar, Badge } from '@/components/ui/misc'
import { Tip } from '@/components/ui/tooltip'
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs'
import { UserMenu } from '@/components/Shell'
import { useDocState, usePresence, useSessionStatus, isTyping } from './hooks'
import { Transport } from './engine'
import { Timeline, TRACK_H, RULER_H, type AssetInfo, type Selection } from './Timeline'
import { TrackHeaders } from './TrackHeaders'
import { Inspector, NotesPanel, CommentsPanel } from './Panels'
import { AssetsPanel } from './Assets'
import { ListenPanel } from './Listen'

export default function StudioPage({ projectId }: { projectId: string }) {
  const { user } = useAuth()
  const [session] = React.useState(() => new ProjectSession(projectId, { id: user!.id, name: user!.displayName || user!.email }))
  const [started, setStarted] = React.useState(false)
  React.useEffect(() => {
    let live = true
    void session.start().then(() => live && setStarted(true))
    return () => {
      live = false
      session.close()
    }
  }, [session])
  return <Studio session={session} started={started} />
}

function Studio({ session, started }: { session: ProjectSession; started: boolean }) {
  const { user } = useAuth()
  const doc = session.doc
  const origin = session.origin
  const state = useDocState(doc)
  const status = useSessionStatus(session)
  const presence = usePresence(session, started)
  const readOnly = status.readOnly
  const { tempo, timeSigNum, timeSigDen } = state.settings
  const meter: Meter = React.useMemo(() => ({ tempo, num: timeSigNum, den: timeSigDen }), [tempo, timeSigNum, timeSigDen])

  const [transport] = React.useState(() => new Transport())
  React.useEffect(() => () => transport.dispose(), [transport])
  React.useEffect(() => transport.setDoc(state), [transport, state])
  const playing = React.useSyncExternalStore(
    (cb) => transport.subscribe(cb),
    () => transport.playing,
  )

  const [pxPerSec, setPxPerSec] = React.useState(60)
  const [scrollX, setScrollX] = React.useState(0)
  const [snapUnit, setSnapUnit] = React.useState<SnapUnit>('beat')
  const [selection, setSelection] = React.useState<Selection>({ trackId: null, clipId: null })
  const [range, setRange] = React.useState<[number, number] | null>(null)
  // tracks whose automation lane is shown, and its parameter (a view setting: not shared)
  const [autoView, setAutoView] = React.useState<Record<string, string>>({})
  const [error, setError] = React.useState<string | null>(null)
  const [assets, setAssets] = React.useState<Asset[]>([])
  const [members, setMembers] = React.useState<Member[]>([])
  const [projectName, setProjectName] = React.useState<string>('')
  const [tab, setTab] = React.useState('inspector')

  // undo/redo of one's own changes only
  const undo = React.useMemo(() => createUndoManager(doc, origin), [doc, origin])
  const [undoState, setUndoState] = React.useState({ undo: false, redo: false })
  React.useEffect(() => {
    const upd = () => setUndoState({ undo: undo.canUndo(), redo: undo.canRedo() })
    undo.on('stack-item-added', upd)
    undo.on('stack-item-popped', upd)
    undo.on('stack-cleared', upd)
    return () => undo.destroy()
  }, [undo])

  // a new project gets its settings once the server copy is in
  React.useEffect(() => {
    if (status.conn === 'connected' && !readOnly && projectName) ensureSettings(doc, projectName, origin)
  }, [status.conn, readOnly, doc, origin, projectName])

  // REST: project name, assets, members (for names)
  const loadAssets = React.useCallback(() => {
    api.assets(session.projectId).then(setAssets, () => {})
  }, [session.projectId])
  React.useEffect(() => {
    api.project(session.projectId).then(
      (p) => setProjectName(p.name),
      () => {},
    )
    api.members(session.projectId).then(
      (m) => setMembers(m.members ?? []),
      () => {},
    )
    loadAssets()
  }, [session.projectId, loadAssets])
  React.useEffect(() => {
    if (!assets.some((a) => a.status !== 'ready' && a.status !== 'failed')) return
    const t = setInterval(loadAssets, 3000)
    return () => clearInterval(t)
  }, [assets, loadAssets])
  const assetInfo = React.useMemo(() => {
    const m = new Map<string, AssetInfo>()
    for (const a of assets) m.set(a.id, { id: a.id, filename: a.filename, durationSec: a.metadata?.durationSec, sampleRate: a.metadata?.sampleRate, peaksLevels: a.peaksLevels })
    return m
  }, [assets])
  // a collaborator dropped an asset this browser has not listed yet: list again (at most every 3 s)
  const lastAssetLoad = React.useRef(0)
  React.useEffect(() => {
    const unknown = state.tracks.some((t) => t.clips.some((c) => c.assetId && !assetInfo.has(c.assetId)))
    if (!unknown) return
    const wait = Math.max(0, lastAssetLoad.current + 3000 - Date.now())
    const t = setTimeout(() => {
      lastAssetLoad.current = Date.now()
      loadAssets()
    }, wait)
    return () => clearTimeout(t)
  }, [state.tracks, assetInfo, loadAssets])
  const names = React.useMemo(() => {
    const m = new Map<string, string>()
    for (const x of members) m.set(x.userId, x.displayName || x.email)
    for (const u of presence) m.set(u.userId, u.name)
    return m
  }, [members, presence])

  // presence: playhead (5 Hz while playing), selection, range
  React.useEffect(() => {
    session.setLocalPresence({ selection: selection.trackId ? { trackId: selection.trackId, clipId: selection.clipId ?? undefined } : null, range })
  }, [session, selection, range, started])
  React.useEffect(() => {
    const push = () => session.setLocalPresence({ playhead: transport.position(), playing: transport.playing })
    push()
    const unsub = transport.subscribe(push)
    const t = setInterval(() => transport.playing && push(), 200)
    return () => {
      unsub()
      clearInterval(t)
    }
  }, [session, transport, started])

  const selectTrack = React.useCallback((id: string) => setSelection((s) => (s.trackId === id ? s : { trackId: id, clipId: null })), [])
  const selTrack = state.tracks.find((t) => t.id === selection.trackId) ?? null
  const selClip = selTrack?.clips.find((c) => c.id === selection.clipId) ?? null

  const guard = React.useCallback(
    (fn: () => void) => {
      if (readOnly) {
        setError('You can only view this project: ask an owner or admin for the editor role.')
        return
      }
      try {
        fn()
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e))
      }
    },
    [readOnly],
  )

  const zoomAt = React.useCallback(
    (factor: number, at: number) => {
      setPxPerSec((z) => {
        const nz = clamp(z * factor, 2, 2000)
        setScrollX((sx) => Math.max(0, at - ((at - sx) * z) / nz))
        return nz
      })
    },
    [],
  )

  const split = React.useCallback(() => {
    if (!selTrack || !selClip) return
    guard(() => {
      const id = splitClip(doc, selTrack.id, selClip.id, transport.position(), origin)
      if (!id) setError('Put the playhead inside the selected clip to split it.')
    })
  }, [selTrack, selClip, guard, doc, origin, transport])

  // keyboard shortcuts
  React.useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e) || e.defaultPrevented) return
      const mod = e.ctrlKey || e.metaKey
      const k = e.key.toLowerCase()
      if (e.key === ' ' && !mod) {
        e.preventDefault()
        transport.toggle()
      } else if (mod && k === 'z') {
        e.preventDefault()
        if (e.shiftKey) undo.redo()
        else undo.undo()
      } else if (mod && k === 'y') {
        e.preventDefault()
        undo.redo()
      } else if ((e.key === 'Delete' || e.key === 'Backspace') && selClip && selTrack) {
        e.preventDefault()
        guard(() => removeClip(doc, selTrack.id, selClip.id, origin))
        setSelection({ trackId: selTrack.id, clipId: null })
      } else if ((e.key === 'ArrowLeft' || e.key === 'ArrowRight') && !mod && selClip && selTrack) {
        // nudge the selected clip by one grid step (Shift: one bar), from its
        // position in the document now (a drag may not have re-rendered yet)
        e.preventDefault()
        const step = e.shiftKey ? secondsPerBar(meter) : snapStep(snapUnit, meter) || 0.01
        const cur = ops.readDoc(doc).tracks.find((t) => t.id === selTrack.id)?.clips.find((c) => c.id === selClip.id)
        if (!cur) return
        const pos = Math.max(0, cur.position + (e.key === 'ArrowLeft' ? -step : step))
        guard(() => ops.updateClip(doc, selTrack.id, selClip.id, { position: pos }, origin))
      } else if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && e.altKey && selTrack) {
        // Alt+Up/Down moves the selected track
        e.preventDefault()
        const i = state.tracks.findIndex((t) => t.id === selTrack.id)
        guard(() => ops.moveTrack(doc, selTrack.id, i + (e.key === 'ArrowUp' ? -1 : 1), origin))
      } else if (k === 's' && !mod) {
        e.preventDefault()
        split()
      } else if (k === 'm' && !mod) {
        guard(() => addMarker(doc, transport.position(), `Marker ${state.markers.length + 1}`, '#f59e0b', origin))
      } else if (k === 'l' && !mod) {
        transport.setLoop(range, !transport.loopOn)
      } else if (e.key === 'Home' || e.key === 'Enter') {
        transport.seek(range && transport.loopOn ? range[0] : 0)
        setScrollX(0)
      } else if ((e.key === '=' || e.key === '+') && !mod) {
        zoomAt(1.25, transport.position())
      } else if (e.key === '-' && !mod) {
        zoomAt(0.8, transport.position())
      } else if (e.key === 'Escape') {
        setSelection({ trackId: selection.trackId, clipId: null })
        setRange(null)
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [transport, undo, selClip, selTrack, guard, doc, origin, split, state.markers.length, state.tracks, range, zoomAt, selection.trackId, meter, snapUnit])

  // a handle for the end-to-end tests, only with the e2e flag (src/lib/testhooks.ts)
  React.useEffect(() => {
    expose('__mb', { doc, Y, session, transport, undo, ops, auto, origin })
  }, [doc, session, transport, undo, origin])

  const laneHeight = Math.max(state.tracks.length * TRACK_H, 200)
  // the project's name lives in the REST resource (renamed from the list); the document's copy is a fallback
  const title = projectName || state.settings.name || 'Untitled project'

  return (
    <div className="flex h-full flex-col bg-background text-foreground" data-testid="studio">
      {/* top bar */}
      <header className="flex h-11 shrink-0 items-center gap-3 border-b border-border bg-panel px-3">
        <Link to="/" aria-label="Back to projects" className="rounded p-1 text-muted-foreground hover:bg-accent hover:text-foreground">
          <ArrowLeft className="size-4" />
        </Link>
        <span className="inline-flex size-6 items-center justify-center rounded bg-primary text-[10px] font-black text-black">MB</span>
        <h1 className="max-w-[28ch] truncate text-[14px] font-semibold" data-testid="project-title">
          {title}
        </h1>
        <ConnectionBadge status={status} />
        {readOnly && (
          <Badge tone="info" aria-label="Read only">
            <Eye className="size-3" /> view only
          </Badge>
        )}
        <div className="ml-auto flex items-center gap-2">
          <div className="flex -space-x-1" aria-label="Who is here">
            {presence
              .filter((u, i, all) => all.findIndex((x) => x.userId === u.userId) === i)
              .map((u) => (
                <Avatar key={u.clientId} name={u.name} color={u.color} title={u.self ? `${u.name} (you)` : u.name} className="size-6 text-[10px]" />
              ))}
          </div>
          <div className="mx-1 h-5 w-px bg-border" />
          <Tip label="Undo your last change (Ctrl+Z)">
            <Button size="icon-sm" variant="ghost" aria-label="Undo" disabled={!undoState.undo || readOnly} onClick={() => undo.undo()}>
              <Undo2 />
            </Button>
          </Tip>
          <Tip label="Redo (Ctrl+Shift+Z)">
            <Button size="icon-sm" variant="ghost" aria-label="Redo" disabled={!undoState.redo || readOnly} onClick={() => undo.redo()}>
              <Redo2 />
            </Button>
          </Tip>
          <UserMenu />
        </div>
      </header>

      <TransportBar
        transport={transport}
        playing={playing}
        meter={meter}
        state={state}
        readOnly={readOnly}
        snapUnit={snapUnit}
        setSnapUnit={setSnapUnit}
        range={range}
        onSettings={(p) => guard(() => setSettings(doc, p, origin))}
        onZoom={(f) => zoomAt(f, transport.position())}
        onSplit={split}
        canSplit={!!selClip && !readOnly}
        onMarker={() => guard(() => addMarker(doc, transport.position(), `Marker ${state.markers.length + 1}`, '#f59e0b', origin))}
        onHome={() => {
          transport.seek(0)
          setScrollX(0)
        }}
      />

      {error && (
        <Alert className="mx-3 mt-2 flex items-center justify-between py-1.5" data-testid="studio-error">
          <span>{error}</span>
          <button className="text-xs underline" onClick={() => setError(null)}>
            dismiss
          </button>
        </Alert>
      )}
      {status.problem && <Alert tone="warn" className="mx-3 mt-2 py-1.5">{status.problem}</Alert>}

      <div className="flex min-h-0 flex-1">
        {/* arrangement */}
        <div className="flex min-w-0 flex-1 flex-col">
          <div className="flex shrink-0 border-b border-border" style={{ height: RULER_H }}>
            <div className="flex w-60 shrink-0 items-center justify-between border-r border-border bg-panel px-2">
              <span className="text-[11px] font-semibold uppercase tracking-wider text-muted-foreground">{count(state.tracks.length, 'track')}</span>
              <Button size="xs" variant="secondary" disabled={readOnly} onClick={() => guard(() => setSelection({ trackId: addTrack(doc, {}, origin), clipId: null }))} aria-label="Add track">
                <Plus /> Track
              </Button>
            </div>
            <div id="ruler-slot" className="min-w-0 flex-1 overflow-hidden" />
          </div>
          <div data-lanes-scroll className="min-h-0 flex-1 overflow-y-auto overflow-x-hidden">
            <div className="flex min-h-full" style={{ height: laneHeight }}>
              <div className="w-60 shrink-0 border-r border-border bg-panel">
                <TrackHeaders
                  tracks={state.tracks}
                  doc={doc}
                  origin={origin}
                  readOnly={readOnly}
                  selectedTrack={selection.trackId}
                  onSelect={selectTrack}
                  presence={presence}
                  onError={setError}
                  autoView={autoView}
                  setAutoView={setAutoView}
                />
              </div>
              <div className="min-w-0 flex-1">
                <Timeline
                  state={state}
                  doc={doc}
                  origin={origin}
                  meter={meter}
                  pxPerSec={pxPerSec}
                  scrollX={scrollX}
                  setScrollX={setScrollX}
                  zoomAt={zoomAt}
                  snapUnit={snapUnit}
                  selection={selection}
                  setSelection={setSelection}
                  range={range}
                  setRange={setRange}
                  transport={transport}
                  presence={presence}
                  readOnly={readOnly}
                  assets={assetInfo}
                  onError={setError}
                  autoView={autoView}
                />
              </div>
            </div>
          </div>
          <HScroll scrollX={scrollX} setScrollX={setScrollX} pxPerSec={pxPerSec} end={projectEnd(state)} meter={meter} />
        </div>

        {/* side panel */}
        <aside className="flex w-80 shrink-0 flex-col border-l border-border bg-panel" aria-label="Side panel">
          <Tabs value={tab} onValueChange={setTab} className="flex min-h-0 flex-1 flex-col">
            <TabsList className="m-2 grid grid-cols-5">
              <TabsTrigger value="inspector">Inspect</TabsTrigger>
              <TabsTrigger value="lyrics">Lyrics</TabsTrigger>
              <TabsTrigger value="comments">
                Notes
                {state.comments.filter((c) => !c.resolved).length > 0 && (
                  <span className="rounded bg-sky-500/30 px-1 text-[10px] text-sky-200">{state.comments.filter((c) => !c.resolved).length}</span>
                )}
              </TabsTrigger>
              <TabsTrigger value="assets">Audio</TabsTrigger>
              <TabsTrigger value="listen">Live</TabsTrigger>
            </TabsList>
            <TabsContent value="inspector" className="min-h-0 flex-1 overflow-auto">
              <Inspector doc={doc} origin={origin} readOnly={readOnly} onError={setError} track={selTrack} clip={selClip} meter={meter} />
              <MarkerList state={state} meter={meter} onSeek={(t) => transport.seek(t)} doc={doc} origin={origin} readOnly={readOnly} />
            </TabsContent>
            <TabsContent value="lyrics" forceMount className="min-h-0 flex-1 data-[state=inactive]:hidden">
              <NotesPanel doc={doc} origin={origin} readOnly={readOnly} onError={setError} />
            </TabsContent>
            <TabsContent value="comments" className="min-h-0 flex-1">
              <CommentsPanel
                doc={doc}
                origin={origin}
                readOnly={readOnly}
                onError={setError}
                comments={state.comments}
                range={range}
                playhead={() => transport.position()}
                meter={meter}
                userId={user!.id}
                names={names}
                onSeek={(t) => transport.seek(t)}
              />
            </TabsContent>
            <TabsContent value="listen" forceMount className="min-h-0 flex-1 overflow-auto data-[state=inactive]:hidden">
              <ListenPanel projectId={session.projectId} assets={assets} playhead={() => transport.position()} range={range} readOnly={readOnly} names={names} />
            </TabsContent>
            <TabsContent value="assets" className="min-h-0 flex-1">
              <AssetsPanel projectId={session.projectId} readOnly={readOnly} assets={assets} reload={loadAssets} />
            </TabsContent>
          </Tabs>
        </aside>
      </div>

      {/* status bar */}
      <footer className="flex h-6 shrink-0 items-center gap-4 border-t border-border bg-panel px-3 text-[11px] text-muted-foreground">
        <span>{statusText(status)}</span>
        <span>role: {status.role}</span>
        <span>
          {count(state.tracks.length, 'track')} · {count(state.tracks.reduce((n, t) => n + t.clips.length, 0), 'clip')}
        </span>
        <span className="ml-auto">Space play · S split · ←/→ nudge · Alt+↑/↓ move track · M marker · L loop · Ctrl+Z undo · Del delete · Ctrl+wheel zoom</span>
      </footer>
    </div>
  )
}

function statusText(s: SessionStatus): string {
  switch (s.conn) {
    case 'connected':
      return s.readOnly ? 'Live · read-only' : 'Live · all changes saved'
    case 'syncing':
      return 'Syncing with the server…'
    case 'connecting':
      return 'Connecting…'
    case 'offline':
      return s.unsent > 0 ? `Offline · ${s.unsent} change${s.unsent === 1 ? '' : 's'} kept in this browser, sent on reconnect` : 'Offline · reconnecting'
    case 'error':
      return s.problem ?? 'Cannot open this project.'
  }
}

export function ConnectionBadge({ status }: { status: SessionStatus }) {
  const c = status.conn
  return (
    <span
      role="status"
      aria-live="polite"
      data-testid="conn-state"
      data-state={c}
      className={cn(
        'inline-flex items-center gap-1.5 rounded-full border px-2 py-0.5 text-[11px] font-medium',
        c === 'connected' && 'border-emerald-500/30 bg-emerald-500/10 text-emerald-300',
        (c === 'syncing' || c === 'connecting') && 'border-sky-500/30 bg-sky-500/10 text-sky-300',
        c === 'offline' && 'border-amber-500/30 bg-amber-500/10 text-amber-300',
        c === 'error' && 'border-red-500/30 bg-red-500/10 text-red-300',
      )}
    >
      {c === 'connected' ? <Wifi className="size-3" /> : c === 'offline' || c === 'error' ? <CloudOff className="size-3" /> : <Loader2 className="size-3 animate-spin" />}
      {c === 'connected' ? 'Live' : c === 'syncing' ? 'Syncing' : c === 'connecting' ? 'Connecting' : c === 'offline' ? (status.unsent ? `Offline · ${status.unsent} unsent` : 'Offline') : 'Error'}
    </span>
  )
}

function TransportBar(p: {
  transport: Transport
  playing: boolean
  meter: Meter
  state: DocState
  readOnly: boolean
  snapUnit: SnapUnit
  setSnapUnit: (s: SnapUnit) => void
  range: [number, number] | null
  onSettings: (p: Partial<DocState['settings']>) => void
  onZoom: (f: number) => void
  onSplit: () => void
  canSplit: boolean
  onMarker: () => void
  onHome: () => void
}) {
  const { transport, meter, state } = p
  const bbRef = React.useRef<HTMLSpanElement>(null)
  const clockRef = React.useRef<HTMLSpanElement>(null)
  const loopOn = React.useSyncExternalStore(
    (cb) => transport.subscribe(cb),
    () => transport.loopOn,
  )
  // the LCD updates every frame without re-rendering React
  React.useEffect(() => {
    let raf = 0
    const tick = () => {
      const pos = transport.position()
      if (bbRef.current) bbRef.current.textContent = formatBarsBeats(pos, meter)
      if (clockRef.current) clockRef.current.textContent = formatClock(pos)
      raf = requestAnimationFrame(tick)
    }
    raf = requestAnimationFrame(tick)
    return () => cancelAnimationFrame(raf)
  }, [transport, meter])
  const num = (v: string) => Number(v)
  return (
    <div className="flex h-12 shrink-0 items-center gap-3 border-b border-border bg-[#101217] px-3" role="toolbar" aria-label="Transport">
      <div className="flex items-center gap-1">
        <Tip label="Back to start (Home)">
          <Button size="icon" variant="ghost" aria-label="Back to start" onClick={p.onHome}>
            <SkipBack />
          </Button>
        </Tip>
        <Tip label="Play / pause (Space)">
          <Button size="icon" aria-label={p.playing ? 'Pause' : 'Play'} onClick={() => transport.toggle()} className={cn('size-9 rounded-full', p.playing && 'bg-emerald-500 hover:bg-emerald-500/90')}>
            {p.playing ? <Pause className="fill-current" /> : <Play className="fill-current" />}
          </Button>
        </Tip>
        <Tip label="Loop the selected range (L)">
          <Button size="icon" variant="ghost" aria-label="Loop" aria-pressed={loopOn} onClick={() => transport.setLoop(p.range ?? transport.loop, !loopOn)} className={loopOn ? 'text-primary' : ''}>
            <Repeat />
          </Button>
        </Tip>
      </div>
      <div className="flex items-baseline gap-3 rounded-md border border-black/60 bg-[#07080a] px-3 py-1 shadow-inner" aria-label="Position">
        <span ref={bbRef} className="lcd w-[7.5ch] text-[19px] font-medium text-amber-300" data-testid="lcd-bars">
          1.1.00
        </span>
        <span ref={clockRef} className="lcd text-[12px] text-amber-200/60">
          00:00.000
        </span>
      </div>
      <div className="flex items-center gap-2 text-[11px] text-muted-foreground">
        <label className="flex items-center gap-1">
          <span>BPM</span>
          <input
            type="number"
            min={20}
            max={999}
            step={0.1}
            aria-label="Tempo (BPM)"
            key={`tempo-${state.settings.tempo}`}
            defaultValue={state.settings.tempo}
            disabled={p.readOnly}
            onBlur={(e) => num(e.target.value) !== state.settings.tempo && p.onSettings({ tempo: num(e.target.value) })}
            onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()}
            className="lcd h-7 w-16 rounded border border-input bg-black/40 px-1.5 text-[13px] text-foreground focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring"
          />
        </label>
        <span className="flex items-center gap-0.5" aria-label="Time signature">
          <input
            type="number"
            min={1}
            max={64}
            aria-label="Beats per bar"
            key={`num-${state.settings.timeSigNum}`}
            defaultValue={state.settings.timeSigNum}
            disabled={p.readOnly}
            onBlur={(e) => num(e.target.value) !== state.settings.timeSigNum && p.onSettings({ timeSigNum: num(e.target.value) })}
            onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()}
            className="lcd h-7 w-10 rounded border border-input bg-black/40 px-1 text-center text-[13px] text-foreground focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring"
          />
          <span>/</span>
          <select
            aria-label="Beat unit"
            value={state.settings.timeSigDen}
            disabled={p.readOnly}
            onChange={(e) => p.onSettings({ timeSigDen: num(e.target.value) })}
            className="lcd h-7 rounded border border-input bg-black/40 px-1 text-[13px] text-foreground"
          >
            {VALID_DENOMINATORS.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </span>
        <label className="flex items-center gap-1">
          <span>Key</span>
          <input
            aria-label="Key"
            key={`key-${state.settings.key}`}
            defaultValue={state.settings.key}
            placeholder="—"
            maxLength={32}
            disabled={p.readOnly}
            onBlur={(e) => e.target.value !== state.settings.key && p.onSettings({ key: e.target.value })}
            onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()}
            className="h-7 w-20 rounded border border-input bg-black/40 px-1.5 text-[12px] text-foreground focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring"
          />
        </label>
      </div>
      <div className="mx-1 h-6 w-px bg-border" />
      <label className="flex items-center gap-1 text-[11px] text-muted-foreground">
        <Magnet className="size-3.5" />
        <select aria-label="Snap to grid" value={p.snapUnit} onChange={(e) => p.setSnapUnit(e.target.value as SnapUnit)} className="h-7 rounded border border-input bg-black/40 px-1 text-[12px] text-foreground">
          {SNAP_UNITS.map((u) => (
            <option key={u} value={u}>
              {u === 'off' ? 'Snap off' : u}
            </option>
          ))}
        </select>
      </label>
      <div className="flex items-center">
        <Tip label="Split the selected clip at the playhead (S)">
          <Button size="icon-sm" variant="ghost" aria-label="Split clip" disabled={!p.canSplit} onClick={p.onSplit}>
            <Scissors />
          </Button>
        </Tip>
        <Tip label="Add a marker at the playhead (M)">
          <Button size="icon-sm" variant="ghost" aria-label="Add marker" disabled={p.readOnly} onClick={p.onMarker}>
            <Flag />
          </Button>
        </Tip>
        <Tip label="Zoom out (-)">
          <Button size="icon-sm" variant="ghost" aria-label="Zoom out" onClick={() => p.onZoom(0.8)}>
            <ZoomOut />
          </Button>
        </Tip>
        <Tip label="Zoom in (+)">
          <Button size="icon-sm" variant="ghost" aria-label="Zoom in" onClick={() => p.onZoom(1.25)}>
            <ZoomIn />
          </Button>
        </Tip>
      </div>
      <span className="ml-auto text-[11px] text-muted-foreground">
        {state.settings.sampleRate / 1000} kHz · {formatBarsBeats(projectEnd(state), meter)} long · bar {secondsPerBar(meter).toFixed(2)} s
      </span>
    </div>
  )
}

function HScroll({ scrollX, setScrollX, pxPerSec, end, meter }: { scrollX: number; setScrollX: (n: number) => void; pxPerSec: number; end: number; meter: Meter }) {
  const total = Math.max(end + secondsPerBar(meter) * 8, 120)
  return (
    <div className="flex h-4 shrink-0 items-center border-t border-border bg-panel pl-60">
      <input
        type="range"
        aria-label="Scroll the timeline"
        min={0}
        max={total}
        step={0.01}
        value={Math.min(scrollX, total)}
        onChange={(e) => setScrollX(Number(e.target.value))}
        className="h-1 w-full cursor-pointer accent-zinc-500"
        title={`${pxPerSec.toFixed(0)} px/s`}
      />
    </div>
  )
}

function MarkerList({ state, meter, onSeek, doc, origin, readOnly }: { state: DocState; meter: Meter; onSeek: (t: number) => void; doc: Y.Doc; origin: unknown; readOnly: boolean }) {
  if (state.markers.length === 0) return null
  return (
    <section className="px-3 py-2" aria-label="Markers">
      <h3 className="mb-1 text-[11px] font-semibold uppercase tracking-wider text-muted-foreground">Markers</h3>
      <ul className="grid gap-0.5">
        {state.markers.map((m) => (
          <li key={m.id} className="group flex items-center gap-2 rounded px-1 py-0.5 text-[12px] hover:bg-accent">
            <button className="size-2 shrink-0 rotate-45" style={{ background: m.color || '#f59e0b' }} aria-label={`Go to ${m.name}`} onClick={() => onSeek(m.time)} />
            <input
              aria-label="Marker name"
              key={m.name}
              defaultValue={m.name}
              readOnly={readOnly}
              maxLength={100}
              onFocus={() => onSeek(m.time)}
              onBlur={(e) => e.target.value.trim() && e.target.value !== m.name && ops.updateMarker(doc, m.id, { name: e.target.value.trim() }, origin)}
              onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()}
              className="min-w-0 flex-1 bg-transparent outline-none focus-visible:ring-1 focus-visible:ring-ring"
            />
            <span className="lcd text-[11px] text-muted-foreground">{formatBarsBeats(m.time, meter)}</span>
            {!readOnly && (
              <button aria-label={`Delete marker ${m.name}`} className="text-muted-foreground opacity-0 hover:text-foreground focus-visible:opacity-100 group-hover:opacity-100" onClick={() => ops.removeMarker(doc, m.id, origin)}>
                ×
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  )
}

export { colorFor }

/** "1 track", "8 tracks". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
