import * as React from 'react'
import type * as Y from 'yjs'
import { Check, Plus, Power, Trash2, X } from 'lucide-react'
import {
  addComment,
  addEffect,
  EFFECT_TYPES,
  removeComment,
  removeEffect,
  setCommentResolved,
  setEffectBypass,
  setEffectParam,
  updateClip,
  ROOT_NOTES,
  type Clip,
  type Comment,
  type Track,
} from '@/lib/doc'
import { bindTextarea } from '@/lib/textbind'
import { formatBarsBeats, formatClock, type Meter } from '@/lib/time'
import { colorFor } from '@/lib/colors'
import { cn } from '@/lib/utils'
import { Button } from '@/components/ui/button'
import { Textarea } from '@/components/ui/input'
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuTrigger } from '@/components/ui/dropdown-menu'
import { Knob, fmtParam } from './Knob'

interface Common {
  doc: Y.Doc
  origin: unknown
  readOnly: boolean
  onError: (m: string) => void
}

function Section({ title, children, actions }: { title: string; children: React.ReactNode; actions?: React.ReactNode }) {
  return (
    <section className="border-b border-border">
      <div className="flex h-8 items-center justify-between px-3">
        <h3 className="text-[11px] font-semibold uppercase tracking-wider text-muted-foreground">{title}</h3>
        {actions}
      </div>
      <div className="px-3 pb-3">{children}</div>
    </section>
  )
}

export function Inspector({ track, clip, meter, ...c }: Common & { track: Track | null; clip: Clip | null; meter: Meter }) {
  if (!track) return <p className="p-4 text-[13px] text-muted-foreground">Select a track or a clip to edit its effects, gain and fades.</p>
  const num = (v: string) => Number(v)
  return (
    <div>
      {clip && (
        <Section title="Clip">
          <div className="grid grid-cols-2 gap-x-3 gap-y-2 text-[12px]">
            <span className="text-muted-foreground">Start</span>
            <span className="lcd">
              {formatBarsBeats(clip.position, meter)} · {formatClock(clip.position)}
            </span>
            <span className="text-muted-foreground">Length</span>
            <span className="lcd">{clip.length.toFixed(3)} s</span>
            {(
              [
                ['gain', 'Gain (dB)', -48, 24, 0.1],
                ['fadeIn', 'Fade in (s)', 0, clip.length, 0.01],
                ['fadeOut', 'Fade out (s)', 0, clip.length, 0.01],
              ] as const
            ).map(([k, label, min, max, step]) => (
              <React.Fragment key={k}>
                <label htmlFor={`clip-${k}`} className="self-center text-muted-foreground">
                  {label}
                </label>
                <input
                  id={`clip-${k}`}
                  type="number"
                  min={min}
                  max={max}
                  step={step}
                  disabled={c.readOnly}
                  key={`${clip.id}-${k}-${clip[k]}`}
                  defaultValue={Number(clip[k].toFixed(3))}
                  onBlur={(e) => {
                    const v = num(e.target.value)
                    if (Number.isFinite(v) && v !== clip[k]) updateClip(c.doc, track.id, clip.id, { [k]: v }, c.origin)
                  }}
                  onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()}
                  className="lcd h-6 rounded border border-input bg-black/30 px-1.5 text-[12px] focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring"
                />
              </React.Fragment>
            ))}
          </div>
        </Section>
      )}
      <Section
        title={`Inserts · ${track.name}`}
        actions={
          !c.readOnly && (
            <DropdownMenu>
              <DropdownMenuTrigger asChild>
                <Button size="xs" variant="secondary" aria-label="Add effect">
                  <Plus /> Insert
                </Button>
              </DropdownMenuTrigger>
              <DropdownMenuContent align="end">
                {Object.entries(EFFECT_TYPES).map(([type, spec]) => (
                  <DropdownMenuItem key={type} onSelect={() => addEffect(c.doc, track.id, type, c.origin)}>
                    {spec.label}
                  </DropdownMenuItem>
                ))}
              </DropdownMenuContent>
            </DropdownMenu>
          )
        }
      >
        {track.effects.length === 0 && <p className="text-[12px] text-muted-foreground">No inserts on this track.</p>}
        <ol className="grid gap-2" aria-label="Effect chain">
          {track.effects.map((fx, i) => {
            const spec = EFFECT_TYPES[fx.type]
            return (
              <li key={fx.id} className={cn('rounded-md border border-border bg-[#101216]', fx.bypass && 'opacity-55')} aria-label={`${spec?.label ?? fx.type} effect`}>
                <div className="flex items-center gap-1.5 border-b border-border px-2 py-1">
                  <span className="lcd text-[10px] text-muted-foreground">{i + 1}</span>
                  <span className="flex-1 text-[12px] font-medium">{spec?.label ?? fx.type}</span>
                  <Button
                    size="icon-sm"
                    variant="ghost"
                    aria-label={fx.bypass ? 'Enable effect' : 'Bypass effect'}
                    aria-pressed={!fx.bypass}
                    disabled={c.readOnly}
                    onClick={() => setEffectBypass(c.doc, track.id, fx.id, !fx.bypass, c.origin)}
                    className={fx.bypass ? 'text-muted-foreground' : 'text-emerald-400'}
                  >
                    <Power />
                  </Button>
                  {!c.readOnly && (
                    <Button size="icon-sm" variant="ghost" aria-label="Remove effect" onClick={() => removeEffect(c.doc, track.id, fx.id, c.origin)}>
                      <Trash2 />
                    </Button>
                  )}
                </div>
                <div className="flex flex-wrap gap-1 p-2">
                  {spec
                    ? spec.params.map((ps) => (
                        <Knob
                          key={ps.name}
                          spec={ps}
                          color={track.color}
                          value={fx.params[ps.name] ?? ps.dflt}
                          disabled={c.readOnly}
                          onChange={(v) => setEffectParam(c.doc, track.id, fx.id, ps.name, v, c.origin)}
                        />
                      ))
                    : Object.entries(fx.params).map(([k, v]) => (
                        <span key={k} className="lcd text-[11px] text-muted-foreground">
                          {k} {fmtParam(v, '')}
                        </span>
                      ))}
                </div>
              </li>
            )
          })}
        </ol>
      </Section>
    </div>
  )
}

export function NotesPanel({ doc, origin, readOnly }: Common) {
  const ref = React.useRef<HTMLTextAreaElement>(null)
  React.useEffect(() => bindTextarea(doc.getText(ROOT_NOTES), ref.current!, origin), [doc, origin])
  return (
    <div className="flex h-full flex-col p-3">
      <label htmlFor="lyrics" className="mb-1.5 text-[11px] font-semibold uppercase tracking-wider text-muted-foreground">
        Lyrics & notes (shared live)
      </label>
      <Textarea
        id="lyrics"
        ref={ref}
        readOnly={readOnly}
        spellCheck
        placeholder={readOnly ? '' : 'Verse 1…'}
        className="min-h-0 flex-1 resize-none font-mono text-[13px] leading-relaxed"
        data-testid="lyrics"
      />
    </div>
  )
}

export function CommentsPanel({
  comments,
  range,
  playhead,
  meter,
  userId,
  names,
  onSeek,
  ...c
}: Common & {
  comments: Comment[]
  range: [number, number] | null
  playhead: () => number
  meter: Meter
  userId: string
  names: Map<string, string>
  onSeek: (t: number) => void
}) {
  const [text, setText] = React.useState('')
  const sorted = [...comments].sort((a, b) => a.time - b.time)
  return (
    <div className="flex h-full flex-col">
      {c.readOnly ? (
        <p className="border-b border-border p-3 text-[12px] text-muted-foreground">Viewers can read comments; editors can add them.</p>
      ) : (
      <form
        className="grid gap-2 border-b border-border p-3"
        onSubmit={(e) => {
          e.preventDefault()
          try {
            const t = range ?? [playhead(), playhead()]
            addComment(c.doc, { authorId: userId, time: t[0], endTime: t[1], text }, c.origin)
            setText('')
          } catch (err) {
            c.onError(err instanceof Error ? err.message : String(err))
          }
        }}
      >
        <label htmlFor="comment-text" className="text-[11px] text-muted-foreground">
          Comment on {range ? `${formatBarsBeats(range[0], meter)} – ${formatBarsBeats(range[1], meter)}` : `the playhead (drag on the timeline to pick a range)`}
        </label>
        <Textarea id="comment-text" rows={2} value={text} onChange={(e) => setText(e.target.value)} maxLength={4000} placeholder="The snare is too loud here…" />
        <div className="flex justify-end">
          <Button size="sm" type="submit" disabled={!text.trim()}>
            Comment
          </Button>
        </div>
      </form>
      )}
      <ul className="min-h-0 flex-1 overflow-auto" aria-label="Comments">
        {sorted.length === 0 && <li className="p-3 text-[12px] text-muted-foreground">No comments yet.</li>}
        {sorted.map((cm) => (
          <li key={cm.id} className={cn('border-b border-border/60 px-3 py-2', cm.resolved && 'opacity-50')}>
            <div className="mb-0.5 flex items-center gap-2 text-[11px]">
              <span className="size-2 rounded-full" style={{ background: colorFor(cm.authorId) }} />
              <span className="font-medium">{names.get(cm.authorId) ?? (cm.authorId === userId ? 'You' : 'Collaborator')}</span>
              <button className="lcd text-sky-300 hover:underline" onClick={() => onSeek(cm.time)} aria-label={`Go to ${formatBarsBeats(cm.time, meter)}`}>
                {formatBarsBeats(cm.time, meter)}
                {cm.endTime > cm.time ? `–${formatBarsBeats(cm.endTime, meter)}` : ''}
              </button>
              <span className="ml-auto flex gap-0.5">
                <Button size="icon-sm" variant="ghost" aria-label={cm.resolved ? 'Reopen comment' : 'Resolve comment'} onClick={() => setCommentResolved(c.doc, cm.id, !cm.resolved, c.origin)}>
                  <Check />
                </Button>
                {cm.authorId === userId && (
                  <Button size="icon-sm" variant="ghost" aria-label="Delete comment" onClick={() => removeComment(c.doc, cm.id, c.origin)}>
                    <X />
                  </Button>
                )}
              </span>
            </div>
            <p className="whitespace-pre-wrap text-[12px] leading-snug">{cm.text}</p>
          </li>
        ))}
      </ul>
    </div>
  )
}
