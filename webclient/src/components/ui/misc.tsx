import * as React from 'react'
import { cn } from '@/lib/utils'

export function Badge({ className, tone = 'default', ...props }: React.HTMLAttributes<HTMLSpanElement> & { tone?: 'default' | 'ok' | 'warn' | 'bad' | 'info' }) {
  const tones = {
    default: 'bg-secondary text-secondary-foreground border-border',
    ok: 'bg-emerald-500/15 text-emerald-300 border-emerald-500/30',
    warn: 'bg-amber-500/15 text-amber-300 border-amber-500/30',
    bad: 'bg-red-500/15 text-red-300 border-red-500/30',
    info: 'bg-sky-500/15 text-sky-300 border-sky-500/30',
  }
  return <span className={cn('inline-flex items-center gap-1 rounded border px-1.5 py-0.5 text-[11px] font-medium leading-none', tones[tone], className)} {...props} />
}

export function Card({ className, ...props }: React.HTMLAttributes<HTMLDivElement>) {
  return <div className={cn('rounded-lg border border-border bg-card text-card-foreground', className)} {...props} />
}

export function Alert({ className, tone = 'bad', ...props }: React.HTMLAttributes<HTMLDivElement> & { tone?: 'bad' | 'warn' | 'info' }) {
  const tones = {
    bad: 'border-red-500/40 bg-red-500/10 text-red-200',
    warn: 'border-amber-500/40 bg-amber-500/10 text-amber-200',
    info: 'border-sky-500/40 bg-sky-500/10 text-sky-200',
  }
  return <div role="alert" className={cn('rounded-md border px-3 py-2 text-[13px]', tones[tone], className)} {...props} />
}

export function Spinner({ className }: { className?: string }) {
  return <span className={cn('inline-block size-4 animate-spin rounded-full border-2 border-current border-r-transparent', className)} aria-hidden />
}

export function Avatar({ name, color, className, title }: { name: string; color: string; className?: string; title?: string }) {
  const initials = name
    .split(/\s+|@/)
    .filter(Boolean)
    .slice(0, 2)
    .map((s) => s[0]!.toUpperCase())
    .join('')
  return (
    <span
      title={title ?? name}
      className={cn('inline-flex size-7 items-center justify-center rounded-full text-[11px] font-bold text-black ring-2 ring-background', className)}
      style={{ background: color }}
    >
      {initials || '?'}
    </span>
  )
}
