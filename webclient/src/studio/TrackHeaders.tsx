import * as React from 'react'
import type * as Y from 'yjs'
import { Activity, ArrowDown, ArrowUp, GripVertical, MoreVertical, Palette, Trash2 } from 'lucide-react'
import { moveTrack, removeTrack, TRACK_COLORS, updateTrack, type Track } from '@/lib/doc'
import type { PresenceUser } from '@/lib/collab'
import { cn } from '@/lib/utils'
import { AUTO_PARAMS } from '@/lib/automation'
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuLabel, DropdownMenuSeparator, DropdownMenuTrigger } from '@/components/ui/dropdown-menu'
import { TRACK_H } from './Timeline'

export interface TrackHeadersProps {
  tracks: Track[]
  doc: Y.Doc
  origin: unknown
  readOnly: boolean
  selectedTrack: string | null
  onSelect: (id: string) => void
  presence: PresenceUser[]
  onError: (m: string) => void
  /** Tracks whose automation lane is shown on the timeline → the parameter shown. */
  autoView: Record<string, string>
  setAutoView: React.Dispatch<React.SetStateAction<Record<string, string>>>
}

export const TrackHeaders = React.memo(function TrackHeaders(p: TrackHeadersProps) {
  const [dragOver, setDragOver] = React.useState<number | null>(null)
  return (
    <div role="list" aria-label="Tracks" className="relative">
      {p.tracks.map((t, i) => (
        <TrackHeader
          key={t.id}
          t={t}
          index={i}
          {...p}
          dragOver={dragOver === i}
          setDragOver={setDragOver}
          here={hereOf(p.presence, t.id)}
        />
      ))}
    </div>
  )
})

const NOBODY: PresenceUser[] = []

function hereOf(presence: PresenceUser[], trackId: string): PresenceUser[] {
  const h = presence.filter((u) => !u.self && u.selection?.trackId === trackId)
  return h.length ? h : NOBODY
}

const TrackHeader = React.memo(function TrackHeader({
  t,
  index,
  tracks,
  doc,
  origin,
  readOnly,
  selectedTrack,
  onSelect,
  dragOver,
  setDragOver,
  here,
  onError,
  autoView,
  setAutoView,
}: TrackHeadersProps & { t: Track; index: number; dragOver: boolean; setDragOver: (i: number | null) => void; here: PresenceUser[] }) {
  const [editing, setEditing] = React.useState(false)
  const [vol, setVol] = React.useState<number | null>(null)
  const colorInput = React.useRef<HTMLInputElement>(null)
  const up = (patch: Parameters<typeof updateTrack>[2]) => {
    try {
      updateTrack(doc, t.id, patch, origin)
    } catch (e) {
      onError(String(e))
    }
  }
  const selected = selectedTrack === t.id
  const autoParam = autoView[t.id]
  const setAuto = (param: string | null) =>
    setAutoView((v) => {
      const next = { ...v }
      if (param) next[t.id] = param
      else delete next[t.id]
      return next
    })
  return (
    <div
      role="listitem"
      aria-label={`Track ${t.name}`}
      data-testid="track-header"
      className={cn(
        'group relative flex border-b border-black/40 pr-1.5 text-[12px]',
        selected ? 'bg-[#1d2129]' : index % 2 ? 'bg-[#15181d]' : 'bg-[#171a20]',
        dragOver && 'outline outline-2 -outline-offset-2 outline-primary',
      )}
      style={{ height: TRACK_H }}
      onPointerDown={() => onSelect(t.id)}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes('application/x-mb-track')) {
          e.preventDefault()
          setDragOver(index)
        }
      }}
      onDragLeave={() => setDragOver(null)}
      onDrop={(e) => {
        const id = e.dataTransfer.getData('application/x-mb-track')
        setDragOver(null)
        if (id && !readOnly) moveTrack(doc, id, index, origin)
      }}
    >
      <div className="w-1.5 shrink-0" style={{ background: t.color }} />
      <div
        className={cn('flex w-4 shrink-0 items-center justify-center text-muted-foreground/50', !readOnly && 'cursor-grab hover:text-muted-foreground')}
        draggable={!readOnly}
        onDragStart={(e) => {
          e.dataTransfer.setData('application/x-mb-track', t.id)
          e.dataTransfer.effectAllowed = 'move'
        }}
        aria-hidden
      >
        <GripVertical className="size-3.5" />
      </div>
      <div className="flex min-w-0 flex-1 flex-col justify-center gap-1.5 py-1">
        <div className="flex items-center gap-1">
          {editing && !readOnly ? (
            <input
              autoFocus
              defaultValue={t.name}
              aria-label="Track name"
              maxLength={100}
              className="h-5 min-w-0 flex-1 rounded bg-black/40 px-1 text-[12px] outline-none ring-1 ring-primary"
              onBlur={(e) => {
                setEditing(false)
                const v = e.target.value.trim()
                if (v && v !== t.name) up({ name: v })
              }}
              onKeyDown={(e) => {
                if (e.key === 'Enter') (e.target as HTMLInputElement).blur()
                if (e.key === 'Escape') setEditing(false)
              }}
            />
          ) : (
            <button
              className="min-w-0 flex-1 truncate text-left font-medium text-foreground/95 focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring"
              onDoubleClick={() => setEditing(true)}
              onKeyDown={(e) => e.key === 'F2' && setEditing(true)}
              title={readOnly ? t.name : `${t.name} (double-click to rename)`}
              data-testid="track-name"
            >
              {t.name || 'Untitled'}
            </button>
          )}
          {here.map((u) => (
            <span key={u.clientId} className="size-2 rounded-full" style={{ background: u.color }} title={`${u.name} is here`} />
          ))}
          <button
            aria-label={`Mute ${t.name}`}
            aria-pressed={t.mute}
            disabled={readOnly}
            onClick={() => up({ mute: !t.mute })}
            className={cn(
              'h-5 w-5 rounded text-[10px] font-bold focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring disabled:opacity-40',
              t.mute ? 'bg-sky-500 text-black' : 'bg-black/40 text-muted-foreground hover:text-foreground',
            )}
          >
            M
          </button>
          <button
            aria-label={`Solo ${t.name}`}
            aria-pressed={t.solo}
            disabled={readOnly}
            onClick={() => up({ solo: !t.solo })}
            className={cn(
              'h-5 w-5 rounded text-[10px] font-bold focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring disabled:opacity-40',
              t.solo ? 'bg-amber-400 text-black' : 'bg-black/40 text-muted-foreground hover:text-foreground',
            )}
          >
            S
          </button>
          <button
            aria-label={`${autoParam ? 'Hide' : 'Show'} automation of ${t.name}`}
            aria-pressed={!!autoParam}
            title={autoParam ? 'Hide automation' : 'Show automation: click the lane to add points, drag or arrow keys to move, Alt+click or Delete to remove'}
            onClick={() => setAuto(autoParam ? null : (t.automation.find((l) => AUTO_PARAMS[l.param])?.param ?? 'volume'))}
            data-testid="automation-toggle"
            className={cn(
              'flex h-5 w-5 items-center justify-center rounded focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring',
              autoParam ? 'bg-primary text-black' : 'bg-black/40 text-muted-foreground hover:text-foreground',
            )}
          >
            <Activity className="size-3" />
          </button>
          {autoParam && (
            <select
              aria-label={`Automated parameter of ${t.name}`}
              value={autoParam}
              onChange={(e) => setAuto(e.target.value)}
              className="h-5 w-11 shrink-0 rounded bg-black/50 px-0.5 text-[10px] text-primary focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring"
            >
              {Object.entries(AUTO_PARAMS).map(([k, v]) => (
                <option key={k} value={k}>
                  {v.short}
                </option>
              ))}
            </select>
          )}
          {!readOnly && (
            <DropdownMenu>
              <DropdownMenuTrigger className="flex h-5 w-4 items-center justify-center rounded text-muted-foreground hover:text-foreground focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring" aria-label={`More for ${t.name}`}>
                <MoreVertical className="size-3.5" />
              </DropdownMenuTrigger>
              <DropdownMenuContent align="start">
                <DropdownMenuItem onSelect={() => setEditing(true)}>Rename</DropdownMenuItem>
                <DropdownMenuItem disabled={index === 0} onSelect={() => moveTrack(doc, t.id, index - 1, origin)}>
                  <ArrowUp /> Move up
                </DropdownMenuItem>
                <DropdownMenuItem disabled={index === tracks.length - 1} onSelect={() => moveTrack(doc, t.id, index + 1, origin)}>
                  <ArrowDown /> Move down
                </DropdownMenuItem>
                <DropdownMenuSeparator />
                <DropdownMenuLabel>Color</DropdownMenuLabel>
                <div className="grid grid-cols-6 gap-1 px-2 pb-1.5">
                  {TRACK_COLORS.map((c) => (
                    <DropdownMenuItem key={c} className="size-5 rounded p-0" style={{ background: c }} aria-label={`Color ${c}`} onSelect={() => up({ color: c })} />
                  ))}
                </div>
                <DropdownMenuItem onSelect={() => colorInput.current?.click()}>
                  <Palette /> Custom color…
                </DropdownMenuItem>
                <DropdownMenuSeparator />
                <DropdownMenuItem className="text-red-300" onSelect={() => removeTrack(doc, t.id, origin)}>
                  <Trash2 /> Delete track
                </DropdownMenuItem>
              </DropdownMenuContent>
            </DropdownMenu>
          )}
          <input ref={colorInput} type="color" className="sr-only" tabIndex={-1} aria-hidden value={t.color} onChange={(e) => up({ color: e.target.value })} />
        </div>
        <div className="flex items-center gap-1.5">
          <input
            type="range"
            min={-60}
            max={6}
            step={0.1}
            value={vol ?? t.volume}
            disabled={readOnly}
            aria-label={`Volume of ${t.name}`}
            aria-valuetext={`${(vol ?? t.volume).toFixed(1)} dB`}
            className="h-1 min-w-0 flex-1 cursor-pointer accent-primary disabled:cursor-default disabled:opacity-40"
            onChange={(e) => setVol(Number(e.target.value))}
            onPointerUp={() => {
              if (vol !== null) up({ volume: vol })
              setVol(null)
            }}
            onKeyUp={() => {
              if (vol !== null) up({ volume: vol })
              setVol(null)
            }}
            onDoubleClick={() => up({ volume: 0 })}
          />
          <span className="lcd w-11 text-right text-[10px] text-muted-foreground">{(vol ?? t.volume).toFixed(1)}dB</span>
          <input
            type="range"
            min={-1}
            max={1}
            step={0.01}
            value={t.pan}
            disabled={readOnly}
            aria-label={`Pan of ${t.name}`}
            aria-valuetext={t.pan === 0 ? 'center' : `${Math.round(Math.abs(t.pan) * 100)}% ${t.pan < 0 ? 'left' : 'right'}`}
            className="h-1 w-12 cursor-pointer accent-sky-400 disabled:cursor-default disabled:opacity-40"
            onChange={(e) => up({ pan: Number(e.target.value) })}
            onDoubleClick={() => up({ pan: 0 })}
          />
          <span className="lcd w-7 text-right text-[10px] text-muted-foreground">{t.pan === 0 ? 'C' : `${Math.round(Math.abs(t.pan) * 100)}${t.pan < 0 ? 'L' : 'R'}`}</span>
        </div>
      </div>
    </div>
  )
})
