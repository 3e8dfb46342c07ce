import * as React from 'react'
import * as tus from 'tus-js-client'
import { FileAudio, Upload, BarChart3 } from 'lucide-react'
import { api, ApiError, type Asset } from '@/lib/api'
import { cn } from '@/lib/utils'
import { Button } from '@/components/ui/button'
import { Alert, Badge } from '@/components/ui/misc'
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from '@/components/ui/dialog'

interface UploadState {
  id: string
  name: string
  sent: number
  total: number
  error?: string
  done?: boolean
}

const MAX_UPLOAD = 2 * 1024 * 1024 * 1024

/** Resumable upload through tus; a server without tus gets a plain POST. */
function uploadFile(file: File, projectId: string, onProgress: (sent: number, total: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(file, {
      endpoint: '/api/v1/uploads/',
      retryDelays: [0, 1000, 3000, 5000, 10000],
      chunkSize: 8 * 1024 * 1024,
      metadata: { filename: file.name, filetype: file.type || 'application/octet-stream', projectId },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => onProgress(sent, total),
      onSuccess: () => resolve(),
      onError: (err) => {
        const status = (err as tus.DetailedError).originalResponse?.getStatus?.()
        if (status === 404 || status === 405) {
          // no tus endpoint: one request with the raw body
          const xhr = new XMLHttpRequest()
          xhr.open('POST', `/api/v1/assets?filename=${encodeURIComponent(file.name)}&projectId=${encodeURIComponent(projectId)}`)
          xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream')
          xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total)
          xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(problemText(xhr.responseText) || `Upload failed (${xhr.status}).`)))
          xhr.onerror = () => reject(new Error('Upload failed: the connection dropped.'))
          xhr.send(file)
          return
        }
        const body = (err as tus.DetailedError).originalResponse?.getBody?.()
        reject(new Error(problemText(body ?? '') || err.message))
      },
    })
    up.findPreviousUploads().then((prev) => {
      if (prev.length) up.resumeFromPreviousUpload(prev[0])
      up.start()
    })
  })
}

function problemText(s: string): string {
  try {
    const j = JSON.parse(s) as { detail?: string; title?: string }
    return j.detail || j.title || ''
  } catch {
    return ''
  }
}

export function AssetsPanel({ projectId, readOnly, assets, reload }: { projectId: string; readOnly: boolean; assets: Asset[]; reload: () => void }) {
  const [uploads, setUploads] = React.useState<UploadState[]>([])
  const [open, setOpen] = React.useState<Asset | null>(null)
  const [over, setOver] = React.useState(false)
  const input = React.useRef<HTMLInputElement>(null)

  function start(files: FileList | File[]) {
    for (const f of Array.from(files)) {
      const id = Math.random().toString(36).slice(2)
      if (f.size > MAX_UPLOAD) {
        setUploads((u) => [...u, { id, name: f.name, sent: 0, total: f.size, error: 'Larger than 2 GiB.' }])
        continue
      }
      setUploads((u) => [...u, { id, name: f.name, sent: 0, total: f.size }])
      const set = (p: Partial<UploadState>) => setUploads((u) => u.map((x) => (x.id === id ? { ...x, ...p } : x)))
      uploadFile(f, projectId, (sent, total) => set({ sent, total })).then(
        () => {
          set({ done: true, sent: f.size })
          reload()
          setTimeout(() => setUploads((u) => u.filter((x) => x.id !== id)), 2500)
        },
        (err: Error) => set({ error: err.message }),
      )
    }
  }

  return (
    <div
      className={cn('flex h-full flex-col', over && 'bg-primary/5 outline outline-2 -outline-offset-4 outline-primary/60')}
      onDragOver={(e) => {
        if (!readOnly && e.dataTransfer.types.includes('Files')) {
          e.preventDefault()
          setOver(true)
        }
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        setOver(false)
        if (readOnly || !e.dataTransfer.files.length) return
        e.preventDefault()
        start(e.dataTransfer.files)
      }}
    >
      <div className="flex items-center justify-between border-b border-border p-3">
        <span className="text-[11px] text-muted-foreground">Drop audio here, then drag it onto a track.</span>
        {!readOnly && (
          <>
            <Button size="sm" variant="secondary" onClick={() => input.current?.click()}>
              <Upload /> Upload
            </Button>
            <input
              ref={input}
              type="file"
              accept="audio/*,.wav,.aif,.aiff,.flac,.mp3,.ogg,.opus,.m4a"
              multiple
              className="hidden"
              aria-label="Choose audio files to upload"
              onChange={(e) => {
                if (e.target.files) start(e.target.files)
                e.target.value = ''
              }}
            />
          </>
        )}
      </div>
      {uploads.map((u) => (
        <div key={u.id} className="border-b border-border px-3 py-2 text-[12px]" role="status">
          <div className="mb-1 flex justify-between gap-2">
            <span className="truncate">{u.name}</span>
            <span className="lcd text-muted-foreground">{u.error ? 'failed' : u.done ? 'done' : `${Math.round((100 * u.sent) / Math.max(1, u.total))}%`}</span>
          </div>
          <div className="h-1 overflow-hidden rounded bg-secondary" role="progressbar" aria-valuemin={0} aria-valuemax={u.total} aria-valuenow={u.sent} aria-label={`Uploading ${u.name}`}>
            <div className={cn('h-full', u.error ? 'bg-red-500' : 'bg-primary')} style={{ width: `${(100 * u.sent) / Math.max(1, u.total)}%` }} />
          </div>
          {u.error && <p className="mt-1 text-red-300">{u.error}</p>}
        </div>
      ))}
      <ul className="min-h-0 flex-1 overflow-auto" aria-label="Assets">
        {assets.length === 0 && <li className="p-3 text-[12px] text-muted-foreground">No audio uploaded to this project yet.</li>}
        {assets.map((a) => (
          <li
            key={a.id}
            draggable={!readOnly && a.status !== 'failed'}
            onDragStart={(e) => {
              e.dataTransfer.setData(
                'application/x-mb-asset',
                JSON.stringify({ id: a.id, filename: a.filename, durationSec: a.metadata?.durationSec, sampleRate: a.metadata?.sampleRate, peaksLevels: a.peaksLevels }),
              )
              e.dataTransfer.effectAllowed = 'copy'
            }}
            className="group flex cursor-grab items-center gap-2 border-b border-border/60 px-3 py-2 hover:bg-accent/40"
          >
            <FileAudio className="size-4 shrink-0 text-primary" />
            <div className="min-w-0 flex-1">
              <div className="truncate text-[12px]">{a.filename}</div>
              <div className="lcd text-[10px] text-muted-foreground">
                {a.metadata?.durationSec ? `${a.metadata.durationSec.toFixed(1)} s · ` : ''}
                {a.metadata?.sampleRate ? `${a.metadata.sampleRate / 1000} kHz · ` : ''}
                {a.analysis?.loudness?.integratedLufs != null ? `${a.analysis.loudness.integratedLufs.toFixed(1)} LUFS` : a.status}
              </div>
            </div>
            {a.status === 'failed' ? <Badge tone="bad">failed</Badge> : a.status !== 'ready' && <Badge tone="info">{a.status}</Badge>}
            <Button size="icon-sm" variant="ghost" aria-label={`Analysis of ${a.filename}`} onClick={() => setOpen(a)}>
              <BarChart3 />
            </Button>
          </li>
        ))}
      </ul>
      {open && <AnalysisDialog asset={open} onClose={() => setOpen(null)} />}
    </div>
  )
}

/** A vertical loudness meter from -36 to 0 on the LUFS/dBTP scale with the target marked. */
export function LoudnessMeter({ lufs, truePeak, target }: { lufs: number | null | undefined; truePeak: number | null | undefined; target?: number }) {
  const lo = -36
  const pct = (v: number) => `${Math.max(0, Math.min(100, ((v - lo) / -lo) * 100))}%`
  const ticks = [0, -6, -9, -14, -18, -23, -30, -36]
  return (
    <div className="flex gap-3" role="img" aria-label="Loudness meter">
      <div className="relative h-48 w-5 overflow-hidden rounded-sm bg-[#0b0c0f] ring-1 ring-border">
        {lufs != null && <div className="absolute bottom-0 w-full" style={{ height: pct(lufs), background: 'linear-gradient(to top, #10b981 0%, #84cc16 55%, #eab308 80%, #ef4444 100%)' }} />}
        {target !== undefined && <div className="absolute w-full border-t-2 border-white/80" style={{ bottom: pct(target) }} title={`target ${target} LUFS`} />}
      </div>
      <div className="relative h-48 w-2 overflow-hidden rounded-sm bg-[#0b0c0f] ring-1 ring-border">
        {truePeak != null && <div className="absolute bottom-0 w-full bg-sky-400" style={{ height: pct(truePeak) }} />}
      </div>
      <div className="relative h-48 w-8 text-[9px] text-muted-foreground">
        {ticks.map((t) => (
          <span key={t} className="lcd absolute -translate-y-1/2" style={{ bottom: pct(t), transform: 'translateY(50%)' }}>
            {t}
          </span>
        ))}
      </div>
    </div>
  )
}

function AnalysisDialog({ asset, onClose }: { asset: Asset; onClose: () => void }) {
  const [a, setA] = React.useState(asset)
  const [err, setErr] = React.useState<string | null>(null)
  React.useEffect(() => {
    api.asset(asset.id).then(setA, (e) => setErr(e instanceof ApiError ? e.message : String(e)))
  }, [asset.id])
  const l = a.analysis?.loudness
  const f = (v: number | null | undefined, unit: string) => (v == null ? '—' : `${v.toFixed(1)} ${unit}`)
  return (
    <Dialog open onOpenChange={(o) => !o && onClose()}>
      <DialogContent className="max-w-3xl">
        <DialogHeader>
          <DialogTitle>{a.filename}</DialogTitle>
          <DialogDescription>
            {[a.metadata?.codec, a.metadata?.sampleRate && `${a.metadata.sampleRate} Hz`, a.metadata?.bitDepth && `${a.metadata.bitDepth}-bit`, a.metadata?.channels && `${a.metadata.channels} ch`, a.metadata?.durationSec && `${a.metadata.durationSec.toFixed(2)} s`]
              .filter(Boolean)
              .join(' · ')}
          </DialogDescription>
        </DialogHeader>
        {err && <Alert>{err}</Alert>}
        {a.status !== 'ready' && <Alert tone="info">Analysis is {a.status}{a.error ? `: ${a.error}` : ''}.</Alert>}
        <div className="flex gap-6">
          <LoudnessMeter lufs={l?.integratedLufs} truePeak={l?.truePeakDbtp} target={-14} />
          <div className="grid flex-1 content-start gap-4">
            <div className="grid grid-cols-3 gap-2">
              {(
                [
                  ['Integrated', f(l?.integratedLufs, 'LUFS')],
                  ['Range', f(l?.rangeLu, 'LU')],
                  ['True peak', f(l?.truePeakDbtp, 'dBTP')],
                  ['Sample peak', f(l?.samplePeakDbfs, 'dBFS')],
                  ['Tempo', a.analysis?.bpm ? `${a.analysis.bpm.toFixed(1)} BPM` : a.tags?.bpm ? `${a.tags.bpm} BPM (tag)` : '—'],
                  ['Key', a.analysis?.key || '—'],
                ] as const
              ).map(([k, v]) => (
                <div key={k} className="rounded-md border border-border bg-black/20 px-2.5 py-1.5">
                  <div className="text-[10px] uppercase tracking-wide text-muted-foreground">{k}</div>
                  <div className="lcd text-[15px]">{v}</div>
                </div>
              ))}
            </div>
            {a.analysis?.compliance && a.analysis.compliance.length > 0 && (
              <table className="w-full text-[12px]" aria-label="Platform loudness">
                <thead className="text-left text-[10px] uppercase tracking-wide text-muted-foreground">
                  <tr>
                    <th className="py-1 font-medium">Platform</th>
                    <th className="font-medium">Target</th>
                    <th className="font-medium">Playback gain</th>
                    <th className="font-medium">Resulting TP</th>
                    <th className="font-medium" />
                  </tr>
                </thead>
                <tbody>
                  {a.analysis.compliance.map((c) => (
                    <tr key={c.platform} className="border-t border-border/60" title={c.advice}>
                      <td className="py-1">{platformName(c.platform)}</td>
                      <td className="lcd">{c.targetLufs} LUFS</td>
                      <td className="lcd">
                        <span className={c.gainDb < 0 ? 'text-amber-300' : 'text-emerald-300'}>
                          {c.gainDb > 0 ? '+' : ''}
                          {c.gainDb.toFixed(1)} dB
                        </span>
                      </td>
                      <td className="lcd">{c.resultingTruePeakDbtp == null ? '—' : `${c.resultingTruePeakDbtp.toFixed(1)} dBTP`}</td>
                      <td>{c.ok ? <Badge tone="ok">ok</Badge> : <Badge tone="warn">{c.advice ? 'check' : 'no'}</Badge>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {a.analysis?.readiness && (
              <div className="text-[12px]">
                Distribution readiness: {a.analysis.readiness.ok ? <Badge tone="ok">ready</Badge> : <Badge tone="warn">problems</Badge>}
                <ul className="mt-1 list-disc pl-5 text-muted-foreground">
                  {a.analysis.readiness.problems?.map((p) => (
                    <li key={p.id} className={p.severity === 'fail' ? 'text-red-300' : 'text-amber-200'}>
                      {p.message}
                    </li>
                  ))}
                </ul>
              </div>
            )}
            {a.tags && Object.values(a.tags).some((v) => v !== null && v !== false && v !== '') && (
              <div className="flex flex-wrap gap-1" aria-label="Tags">
                {Object.entries(a.tags).filter(([, v]) => v !== null && v !== false && v !== '').map(([k, v]) => (
                  <Badge key={k}>
                    {k}: {String(v)}
                  </Badge>
                ))}
              </div>
            )}
          </div>
        </div>
      </DialogContent>
    </Dialog>
  )
}

const PLATFORM_NAMES: Record<string, string> = {
  spotify: 'Spotify',
  'apple-music': 'Apple Music',
  youtube: 'YouTube',
  tidal: 'TIDAL',
  'amazon-music': 'Amazon Music',
  deezer: 'Deezer',
  soundcloud: 'SoundCloud',
  'ebu-r128': 'EBU R 128',
}

/** A loudness target's name as people write it ("apple-music" → "Apple Music"); unknown ids are title-cased. */
function platformName(id: string): string {
  return PLATFORM_NAMES[id] ?? id.replace(/[-_]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase())
}
