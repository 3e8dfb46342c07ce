import * as React from 'react'
import { api, ApiError } from '@/lib/api'
import { navigate } from '@/lib/router'
import { Link, useAuth } from '@/App'
import { Button } from '@/components/ui/button'
import { Input, Label } from '@/components/ui/input'
import { Alert, Spinner } from '@/components/ui/misc'
import { Logo } from '@/components/Shell'

function nextPath(): string {
  const here = location.pathname
  if (!here.startsWith('/login') && !here.startsWith('/register')) return here + location.search
  const n = new URLSearchParams(location.search).get('next')
  return n && n.startsWith('/') && !n.startsWith('//') ? n : '/'
}

export function AuthPage({ mode }: { mode: 'login' | 'register' }) {
  const { setUser } = useAuth()
  const [email, setEmail] = React.useState('')
  const [password, setPassword] = React.useState('')
  const [name, setName] = React.useState('')
  const [error, setError] = React.useState<string | null>(null)
  const [busy, setBusy] = React.useState(false)
  const register = mode === 'register'

  async function submit(e: React.FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const u = register ? await api.register(email, password, name) : await api.login(email, password)
      setUser(u && (u as { id?: string }).id ? u : await api.me())
      const next = nextPath()
      navigate(next === '/login' || next === '/register' ? '/' : next, true)
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }

  const here = location.pathname
  const keep = here.startsWith('/login') || here.startsWith('/register') ? location.search : `?next=${encodeURIComponent(here)}`
  return (
    <div className="relative flex min-h-full items-center justify-center overflow-hidden p-6">
      <div aria-hidden className="pointer-events-none absolute inset-0 opacity-[0.07]" style={{ background: 'repeating-linear-gradient(90deg, #f59e0b 0 1px, transparent 1px 48px), repeating-linear-gradient(0deg, #f59e0b 0 1px, transparent 1px 48px)' }} />
      <form onSubmit={submit} className="relative w-full max-w-sm rounded-xl border border-border bg-card/95 p-7 shadow-2xl" aria-labelledby="auth-title">
        <div className="mb-6 flex flex-col items-center gap-3">
          <Logo />
          <h1 id="auth-title" className="text-lg font-semibold">
            {register ? 'Create your studio account' : 'Sign in to your studio'}
          </h1>
        </div>
        <div className="grid gap-3">
          {register && (
            <div className="grid gap-1">
              <Label htmlFor="name">Artist or display name</Label>
              <Input id="name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="nickname" required maxLength={100} />
            </div>
          )}
          <div className="grid gap-1">
            <Label htmlFor="email">Email</Label>
            <Input id="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" required autoFocus />
          </div>
          <div className="grid gap-1">
            <Label htmlFor="password">Password</Label>
            <Input
              id="password"
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete={register ? 'new-password' : 'current-password'}
              minLength={register ? 8 : undefined}
              required
            />
            {register && <p className="text-[11px] text-muted-foreground">8–128 characters, not a common password.</p>}
          </div>
          {error && <Alert>{error}</Alert>}
          <Button type="submit" size="lg" disabled={busy} className="mt-1">
            {busy && <Spinner />}
            {register ? 'Create account' : 'Sign in'}
          </Button>
        </div>
        <p className="mt-5 text-center text-xs text-muted-foreground">
          {register ? (
            <>
              Already have an account?{' '}
              <Link to={'/login' + keep} className="text-primary hover:underline">
                Sign in
              </Link>
            </>
          ) : (
            <>
              New here?{' '}
              <Link to={'/register' + keep} className="text-primary hover:underline">
                Create an account
              </Link>
            </>
          )}
        </p>
      </form>
    </div>
  )
}
