import * as React from 'react'
import { clamp } from '@/lib/time'
import type { ParamSpec } from '@/lib/doc'

function toNorm(v: number, s: ParamSpec): number {
  if (s.log && s.min > 0) return Math.log(v / s.min) / Math.log(s.max / s.min)
  return (v - s.min) / (s.max - s.min)
}
function fromNorm(n: number, s: ParamSpec): number {
  n = clamp(n, 0, 1)
  if (s.log && s.min > 0) return s.min * Math.pow(s.max / s.min, n)
  return s.min + n * (s.max - s.min)
}

export function fmtParam(v: number, unit: string): string {
  const a = Math.abs(v)
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2
  return `${v.toFixed(digits)}${unit && unit !== ':1' ? ' ' + unit : unit}`
}

/**
 * A rotary knob: drag up/down (shift for fine), arrow keys, double-click for
 * the default. It is a slider for assistive technology.
 */
export function Knob({ spec, value, onChange, disabled, color = '#f59e0b' }: { spec: ParamSpec; value: number; onChange: (v: number) => void; disabled?: boolean; color?: string }) {
  const drag = React.useRef<{ y: number; n: number } | null>(null)
  const [local, setLocal] = React.useState<number | null>(null)
  const v = local ?? value
  const n = clamp(toNorm(v, spec), 0, 1)
  const a0 = -135
  const ang = a0 + n * 270
  const r = 14
  const arc = (from: number, to: number) => {
    const p = (deg: number) => {
      const rad = ((deg - 90) * Math.PI) / 180
      return [18 + r * Math.cos(rad), 18 + r * Math.sin(rad)]
    }
    const [x0, y0] = p(from)
    const [x1, y1] = p(to)
    return `M ${x0} ${y0} A ${r} ${r} 0 ${to - from > 180 ? 1 : 0} 1 ${x1} ${y1}`
  }
  const commit = (nv: number) => onChange(Number(nv.toPrecision(5)))
  return (
    <div className="flex w-14 flex-col items-center gap-0.5 select-none">
      <svg
        width={36}
        height={36}
        role="slider"
        tabIndex={disabled ? -1 : 0}
        aria-label={spec.label}
        aria-valuemin={spec.min}
        aria-valuemax={spec.max}
        aria-valuenow={Number(v.toFixed(3))}
        aria-valuetext={fmtParam(v, spec.unit)}
        aria-disabled={disabled}
        className="cursor-ns-resize rounded-full focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
        onPointerDown={(e) => {
          if (disabled) return
          ;(e.currentTarget as Element).setPointerCapture(e.pointerId)
          drag.current = { y: e.clientY, n }
        }}
        onPointerMove={(e) => {
          const d = drag.current
          if (!d) return
          const k = e.shiftKey ? 600 : 150
          setLocal(fromNorm(d.n + (d.y - e.clientY) / k, spec))
        }}
        onPointerUp={() => {
          if (drag.current && local !== null) commit(local)
          drag.current = null
          setLocal(null)
        }}
        onDoubleClick={() => !disabled && commit(spec.dflt)}
        onKeyDown={(e) => {
          if (disabled) return
          const step = e.shiftKey ? 0.01 : 0.05
          if (e.key === 'ArrowUp' || e.key === 'ArrowRight') commit(fromNorm(n + step, spec))
          else if (e.key === 'ArrowDown' || e.key === 'ArrowLeft') commit(fromNorm(n - step, spec))
          else if (e.key === 'Home') commit(spec.min)
          else if (e.key === 'End') commit(spec.max)
          else return
          e.preventDefault()
          e.stopPropagation()
        }}
      >
        <circle cx={18} cy={18} r={12} fill="#23272f" stroke="#0d0f12" strokeWidth={2} />
        <path d={arc(a0, 135)} stroke="#2e333c" strokeWidth={3} fill="none" strokeLinecap="round" />
        {(() => {
          // bipolar parameters (gain in dB) light up from zero, the rest from the minimum
          const from = spec.min < 0 && spec.max > 0 ? a0 + clamp(toNorm(0, spec), 0, 1) * 270 : a0
          const [lo, hi] = ang < from ? [ang, from] : [from, ang]
          return hi - lo > 0.5 ? <path d={arc(lo, hi)} stroke={disabled ? '#555' : color} strokeWidth={3} fill="none" strokeLinecap="round" /> : null
        })()}
        <line
          x1={18}
          y1={18}
          x2={18 + 9 * Math.cos(((ang - 90) * Math.PI) / 180)}
          y2={18 + 9 * Math.sin(((ang - 90) * Math.PI) / 180)}
          stroke="#e5e7eb"
          strokeWidth={2}
          strokeLinecap="round"
        />
      </svg>
      <span className="text-[10px] leading-none text-muted-foreground">{spec.label}</span>
      <span className="lcd text-[10px] leading-none text-foreground/90">{fmtParam(v, spec.unit)}</span>
    </div>
  )
}
