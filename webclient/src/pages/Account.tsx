import { describeUserAgent } from '@/lib/useragent'
import * as React from 'react'
import { KeyRound, Monitor, Trash2 } from 'lucide-react'
import { api, ApiError, type AccessToken, type SessionInfo } from '@/lib/api'
import { useAuth } from '@/App'
import { Shell } from '@/components/Shell'
import { Button } from '@/components/ui/button'
import { Input, Label, Select } from '@/components/ui/input'
import { Alert, Badge, Card } from '@/components/ui/misc'

function fmt(s?: string | null): string {
  if (!s) return '—'
  const d = new Date(s)
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString()
}

function msg(err: unknown): string {
  return err instanceof ApiError ? err.message : String(err)
}

export function AccountPage() {
  const { user } = useAuth()
  return (
    <Shell>
      <div className="mx-auto grid max-w-4xl gap-5 px-6 py-6">
        <div>
          <h1 className="text-xl font-semibold tracking-tight">Account</h1>
          <p className="text-sm text-muted-foreground">
            {user?.displayName} · {user?.email} {user?.emailVerified === false && <Badge tone="warn">email not verified</Badge>}
          </p>
        </div>
        <PasswordCard />
        <SessionsCard />
        <TokensCard />
      </div>
    </Shell>
  )
}

function PasswordCard() {
  const [cur, setCur] = React.useState('')
  const [next, setNext] = React.useState('')
  const [state, setState] = React.useState<{ ok?: string; err?: string }>({})
  return (
    <Card className="p-5">
      <h2 className="mb-3 font-semibold">Password</h2>
      <form
        className="grid max-w-md gap-3"
        onSubmit={async (e) => {
          e.preventDefault()
          setState({})
          try {
            await api.changePassword(cur, next)
            setCur('')
            setNext('')
            setState({ ok: 'Password changed. Your other sessions were signed out.' })
          } catch (err) {
            setState({ err: msg(err) })
          }
        }}
      >
        <div className="grid gap-1">
          <Label htmlFor="cur-pw">Current password</Label>
          <Input id="cur-pw" type="password" autoComplete="current-password" value={cur} onChange={(e) => setCur(e.target.value)} required />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="new-pw">New password</Label>
          <Input id="new-pw" type="password" autoComplete="new-password" minLength={8} maxLength={128} value={next} onChange={(e) => setNext(e.target.value)} required />
        </div>
        {state.err && <Alert>{state.err}</Alert>}
        {state.ok && <Alert tone="info">{state.ok}</Alert>}
        <div>
          <Button type="submit">Change password</Button>
        </div>
      </form>
    </Card>
  )
}

function SessionsCard() {
  const [list, setList] = React.useState<SessionInfo[]>([])
  const [err, setErr] = React.useState<string | null>(null)
  const load = React.useCallback(() => api.sessions().then(setList, (e) => setErr(msg(e))), [])
  React.useEffect(() => {
    void load()
  }, [load])
  return (
    <Card className="p-5">
      <h2 className="mb-3 font-semibold">Signed-in sessions</h2>
      {err && <Alert className="mb-2">{err}</Alert>}
      <ul className="grid gap-1">
        {list.map((s) => (
          <li key={s.id} className="flex items-center gap-3 rounded-md px-2 py-1.5 hover:bg-accent/40">
            <Monitor className="size-4 text-muted-foreground" />
            <div className="min-w-0 flex-1">
              <div className="truncate text-[13px]" title={s.userAgent || undefined}>{describeUserAgent(s.userAgent)}</div>
              <div className="text-[11px] text-muted-foreground">
                {s.ip} · last seen {fmt(s.lastSeenAt)} · expires {fmt(s.expiresAt)}
              </div>
            </div>
            {s.current ? (
              <Badge tone="ok">this browser</Badge>
            ) : (
              <Button size="sm" variant="outline" onClick={() => api.revokeSession(s.id).then(load, (e) => setErr(msg(e)))}>
                Sign out
              </Button>
            )}
          </li>
        ))}
      </ul>
    </Card>
  )
}

function TokensCard() {
  const [list, setList] = React.useState<AccessToken[]>([])
  const [err, setErr] = React.useState<string | null>(null)
  const [name, setName] = React.useState('')
  const [scope, setScope] = React.useState('read,write')
  const [days, setDays] = React.useState(30)
  const [created, setCreated] = React.useState<string | null>(null)
  const load = React.useCallback(() => api.tokens().then(setList, (e) => setErr(msg(e))), [])
  React.useEffect(() => {
    void load()
  }, [load])
  return (
    <Card className="p-5">
      <h2 className="mb-1 font-semibold">Personal access tokens</h2>
      <p className="mb-3 text-xs text-muted-foreground">For scripts and tools calling the API with Authorization: Bearer.</p>
      <form
        className="mb-3 flex flex-wrap items-end gap-2"
        onSubmit={async (e) => {
          e.preventDefault()
          setErr(null)
          try {
            const t = await api.createToken(name.trim(), scope.split(','), days)
            setCreated(t.token ?? null)
            setName('')
            await load()
          } catch (e2) {
            setErr(msg(e2))
          }
        }}
      >
        <div className="grid gap-1">
          <Label htmlFor="tok-name">Name</Label>
          <Input id="tok-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} className="w-48" />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="tok-scope">Scopes</Label>
          <Select id="tok-scope" value={scope} onChange={(e) => setScope(e.target.value)}>
            <option value="read,write">read + write</option>
            <option value="read">read only</option>
          </Select>
        </div>
        <div className="grid gap-1">
          <Label htmlFor="tok-days">Expires in (days)</Label>
          <Input id="tok-days" type="number" min={1} max={365} value={days} onChange={(e) => setDays(Number(e.target.value))} className="w-24" />
        </div>
        <Button type="submit">
          <KeyRound /> Create token
        </Button>
      </form>
      {created && (
        <Alert tone="info" className="mb-3 break-all">
          Copy it now, it is shown once: <span className="lcd select-all">{created}</span>
        </Alert>
      )}
      {err && <Alert className="mb-2">{err}</Alert>}
      <ul className="grid gap-1">
        {list.map((t) => (
          <li key={t.id} className="flex items-center gap-3 rounded-md px-2 py-1.5 hover:bg-accent/40">
            <KeyRound className="size-4 text-muted-foreground" />
            <div className="min-w-0 flex-1">
              <div className="truncate text-[13px]">
                {t.name} {t.scopes.map((s) => <Badge key={s} className="ml-1">{s}</Badge>)}
              </div>
              <div className="text-[11px] text-muted-foreground">
                created {fmt(t.createdAt)} · last used {fmt(t.lastUsedAt)} · expires {fmt(t.expiresAt)}
              </div>
            </div>
            <Button size="icon-sm" variant="ghost" aria-label={`Revoke ${t.name}`} onClick={() => api.revokeToken(t.id).then(load, (e) => setErr(msg(e)))}>
              <Trash2 />
            </Button>
          </li>
        ))}
      </ul>
    </Card>
  )
}
