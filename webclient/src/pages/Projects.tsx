import * as React from 'react'
import { MoreHorizontal, Plus, Trash2, RotateCcw, Users, Pencil, Music2 } from 'lucide-react'
import { api, ApiError, type Member, type Invite, type Project, type Role } from '@/lib/api'
import { navigate } from '@/lib/router'
import { colorFor } from '@/lib/colors'
import { useAuth } from '@/App'
import { Shell } from '@/components/Shell'
import { Button } from '@/components/ui/button'
import { Input, Label, Select } from '@/components/ui/input'
import { Alert, Avatar, Badge, Spinner } from '@/components/ui/misc'
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from '@/components/ui/dialog'
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuSeparator, DropdownMenuTrigger } from '@/components/ui/dropdown-menu'
import { Tabs, TabsList, TabsTrigger } from '@/components/ui/tabs'

function when(s?: string | null): string {
  if (!s) return ''
  const d = new Date(s)
  if (Number.isNaN(d.getTime())) return ''
  const diff = (Date.now() - d.getTime()) / 1000
  if (diff < 60) return 'just now'
  if (diff < 3600) return `${Math.floor(diff / 60)} min ago`
  if (diff < 86400) return `${Math.floor(diff / 3600)} h ago`
  return d.toLocaleDateString()
}

/** Only the owner renames, invites and manages members (api/projects). */
export function canManage(role: Role): boolean {
  return role === 'owner'
}

export function ProjectsPage() {
  const [tab, setTab] = React.useState<'active' | 'trash'>('active')
  const [projects, setProjects] = React.useState<Project[] | null>(null)
  const [error, setError] = React.useState<string | null>(null)
  const [creating, setCreating] = React.useState(false)
  const [renaming, setRenaming] = React.useState<Project | null>(null)
  const [sharing, setSharing] = React.useState<Project | null>(null)

  const load = React.useCallback(async () => {
    setError(null)
    try {
      setProjects(await api.projects(tab === 'trash'))
    } catch (err) {
      setProjects([])
      setError(err instanceof ApiError ? err.message : String(err))
    }
  }, [tab])

  React.useEffect(() => {
    setProjects(null)
    void load()
  }, [load])

  async function act(fn: () => Promise<unknown>) {
    try {
      await fn()
      await load()
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err))
    }
  }

  return (
    <Shell
      actions={
        <Button onClick={() => setCreating(true)} aria-label="New project">
          <Plus /> New project
        </Button>
      }
    >
      <div className="mx-auto max-w-6xl px-6 py-6">
        <div className="mb-5 flex items-center justify-between">
          <h1 className="text-xl font-semibold tracking-tight">Projects</h1>
          <Tabs value={tab} onValueChange={(v) => setTab(v as 'active' | 'trash')}>
            <TabsList>
              <TabsTrigger value="active">Active</TabsTrigger>
              <TabsTrigger value="trash">
                <Trash2 /> Trash
              </TabsTrigger>
            </TabsList>
          </Tabs>
        </div>
        {error && <Alert className="mb-4">{error}</Alert>}
        {projects === null ? (
          <div className="flex justify-center py-16 text-muted-foreground">
            <Spinner />
          </div>
        ) : projects.length === 0 ? (
          <div className="flex flex-col items-center gap-3 rounded-xl border border-dashed border-border py-16 text-muted-foreground">
            <Music2 className="size-8" />
            <p>{tab === 'trash' ? 'The trash is empty.' : 'No projects yet. Start one and invite your co-producers.'}</p>
            {tab === 'active' && (
              <Button onClick={() => setCreating(true)}>
                <Plus /> New project
              </Button>
            )}
          </div>
        ) : (
          <ul className="grid grid-cols-[repeat(auto-fill,minmax(260px,1fr))] gap-3" aria-label={tab === 'trash' ? 'Deleted projects' : 'Projects'}>
            {projects.map((p) => (
              <li key={p.id}>
                <div className="group relative flex h-full flex-col overflow-hidden rounded-lg border border-border bg-card transition-colors hover:border-primary/50">
                  <button
                    className="flex flex-1 flex-col text-left focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
                    disabled={tab === 'trash'}
                    onClick={() => navigate(`/projects/${p.id}`)}
                    aria-label={`Open ${p.name}`}
                  >
                    <ProjectArt id={p.id} />
                    <div className="flex flex-col gap-1 p-3">
                      <span className="truncate font-medium" data-testid="project-name">
                        {p.name}
                      </span>
                      <span className="flex items-center gap-2 text-[11px] text-muted-foreground">
                        <Badge tone={p.role === 'owner' ? 'warn' : p.role === 'viewer' ? 'default' : 'info'}>{p.role}</Badge>
                        {tab === 'trash' ? `deleted ${when(p.deletedAt)}${p.purgeAt ? ` · purged ${new Date(p.purgeAt).toLocaleDateString()}` : ''}` : `edited ${when(p.updatedAt)}`}
                      </span>
                    </div>
                  </button>
                  <div className="absolute right-2 top-2">
                    {tab === 'trash' ? (
                      <Button size="xs" variant="secondary" onClick={() => act(() => api.restoreProject(p.id))} aria-label={`Restore ${p.name}`}>
                        <RotateCcw /> Restore
                      </Button>
                    ) : (
                      <DropdownMenu>
                        <DropdownMenuTrigger asChild>
                          <Button size="icon-sm" variant="secondary" aria-label={`Actions for ${p.name}`}>
                            <MoreHorizontal />
                          </Button>
                        </DropdownMenuTrigger>
                        <DropdownMenuContent align="end">
                          <DropdownMenuItem onSelect={() => setSharing(p)}>
                            <Users /> Members & invites
                          </DropdownMenuItem>
                          {canManage(p.role) && (
                            <DropdownMenuItem onSelect={() => setRenaming(p)}>
                              <Pencil /> Rename
                            </DropdownMenuItem>
                          )}
                          {p.role === 'owner' && (
                            <>
                              <DropdownMenuSeparator />
                              <DropdownMenuItem className="text-red-300" onSelect={() => act(() => api.deleteProject(p.id))}>
                                <Trash2 /> Move to trash
                              </DropdownMenuItem>
                            </>
                          )}
                        </DropdownMenuContent>
                      </DropdownMenu>
                    )}
                  </div>
                </div>
              </li>
            ))}
          </ul>
        )}
      </div>
      <NameDialog
        open={creating}
        title="New project"
        action="Create"
        initial=""
        onClose={() => setCreating(false)}
        onSubmit={async (name) => {
          const p = await api.createProject(name)
          setCreating(false)
          navigate(`/projects/${p.id}`)
        }}
      />
      <NameDialog
        open={!!renaming}
        title="Rename project"
        action="Rename"
        initial={renaming?.name ?? ''}
        onClose={() => setRenaming(null)}
        onSubmit={async (name) => {
          await api.renameProject(renaming!.id, name)
          setRenaming(null)
          await load()
        }}
      />
      {sharing && <MembersDialog project={sharing} onClose={() => setSharing(null)} />}
    </Shell>
  )
}

/** A small generated "waveform" so each card is recognisable. */
function ProjectArt({ id }: { id: string }) {
  const color = colorFor(id)
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 33 + id.charCodeAt(i)) >>> 0
  const bars = Array.from({ length: 48 }, (_, i) => {
    h = (h * 1103515245 + 12345) >>> 0
    return 0.2 + ((h >>> 16) % 100) / 125 + 0.15 * Math.sin(i / 4)
  })
  return (
    <div className="flex h-16 items-center gap-[2px] bg-lane px-3" aria-hidden>
      {bars.map((b, i) => (
        <span key={i} className="flex-1 rounded-sm" style={{ height: `${Math.min(100, b * 70)}%`, background: color, opacity: 0.55 }} />
      ))}
    </div>
  )
}

export function NameDialog(props: {
  open: boolean
  title: string
  action: string
  initial: string
  onClose: () => void
  onSubmit: (name: string) => Promise<void>
}) {
  const [name, setName] = React.useState(props.initial)
  const [error, setError] = React.useState<string | null>(null)
  const [busy, setBusy] = React.useState(false)
  React.useEffect(() => {
    if (props.open) {
      setName(props.initial)
      setError(null)
    }
  }, [props.open, props.initial])
  return (
    <Dialog open={props.open} onOpenChange={(o) => !o && props.onClose()}>
      <DialogContent className="max-w-sm">
        <DialogHeader>
          <DialogTitle>{props.title}</DialogTitle>
        </DialogHeader>
        <form
          className="grid gap-3"
          onSubmit={async (e) => {
            e.preventDefault()
            setBusy(true)
            setError(null)
            try {
              await props.onSubmit(name.trim())
            } catch (err) {
              setError(err instanceof ApiError ? err.message : String(err))
            } finally {
              setBusy(false)
            }
          }}
        >
          <div className="grid gap-1">
            <Label htmlFor="project-name">Name</Label>
            <Input id="project-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} autoFocus />
          </div>
          {error && <Alert>{error}</Alert>}
          <div className="flex justify-end gap-2">
            <Button type="button" variant="ghost" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={busy || !name.trim()}>
              {busy && <Spinner />} {props.action}
            </Button>
          </div>
        </form>
      </DialogContent>
    </Dialog>
  )
}

const ROLES: Role[] = ['viewer', 'editor']

export function MembersDialog({ project, onClose }: { project: Project; onClose: () => void }) {
  const { user } = useAuth()
  const [data, setData] = React.useState<{ members: Member[]; invites: Invite[] } | null>(null)
  const [error, setError] = React.useState<string | null>(null)
  const [email, setEmail] = React.useState('')
  const [role, setRole] = React.useState<Role>('editor')
  const [lastLink, setLastLink] = React.useState<string | null>(null)
  const manage = canManage(project.role)

  const load = React.useCallback(async () => {
    try {
      const d = await api.members(project.id)
      setData({ members: d.members ?? [], invites: d.invites ?? [] })
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err))
      setData({ members: [], invites: [] })
    }
  }, [project.id])
  React.useEffect(() => {
    void load()
  }, [load])

  async function act(fn: () => Promise<unknown>) {
    setError(null)
    try {
      await fn()
      await load()
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err))
    }
  }

  return (
    <Dialog open onOpenChange={(o) => !o && onClose()}>
      <DialogContent className="max-w-xl">
        <DialogHeader>
          <DialogTitle>Members of {project.name}</DialogTitle>
          <DialogDescription>Viewers open the studio read-only; editors change the project; the owner also manages people.</DialogDescription>
        </DialogHeader>
        {error && <Alert>{error}</Alert>}
        {manage && (
          <form
            className="flex items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault()
              void act(async () => {
                const inv = await api.invite(project.id, email.trim(), role)
                setEmail('')
                setLastLink(`Invitation mailed to ${inv?.email ?? email.trim()}.`)
              })
            }}
          >
            <div className="grid flex-1 gap-1">
              <Label htmlFor="invite-email">Invite by email</Label>
              <Input id="invite-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} placeholder="producer@example.com" />
            </div>
            <Select aria-label="Role for the invitation" value={role} onChange={(e) => setRole(e.target.value)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </Select>
            <Button type="submit">Invite</Button>
          </form>
        )}
        {lastLink && (
          <Alert tone="info" className="break-all">
            {lastLink}
          </Alert>
        )}
        {data === null ? (
          <Spinner />
        ) : (
          <div className="grid max-h-80 gap-1 overflow-auto">
            {data.members.map((m) => (
              <div key={m.userId} className="flex items-center gap-3 rounded-md px-2 py-1.5 hover:bg-accent/50">
                <Avatar name={m.displayName || m.email} color={colorFor(m.userId)} />
                <div className="min-w-0 flex-1">
                  <div className="truncate text-[13px]">
                    {m.displayName || m.email} {m.userId === user?.id && <span className="text-muted-foreground">(you)</span>}
                  </div>
                  <div className="truncate text-[11px] text-muted-foreground">{m.email}</div>
                </div>
                {manage && m.role !== 'owner' && m.userId !== user?.id ? (
                  <>
                    <Select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => act(() => api.setMemberRole(project.id, m.userId, e.target.value))}>
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </Select>
                    <DropdownMenu>
                      <DropdownMenuTrigger asChild>
                        <Button size="icon-sm" variant="ghost" aria-label={`More for ${m.email}`}>
                          <MoreHorizontal />
                        </Button>
                      </DropdownMenuTrigger>
                      <DropdownMenuContent align="end">
                        {project.role === 'owner' && (
                          <DropdownMenuItem onSelect={() => act(() => api.transfer(project.id, m.userId))}>Make owner (transfer)</DropdownMenuItem>
                        )}
                        <DropdownMenuItem className="text-red-300" onSelect={() => act(() => api.removeMember(project.id, m.userId))}>
                          Remove from project
                        </DropdownMenuItem>
                      </DropdownMenuContent>
                    </DropdownMenu>
                  </>
                ) : (
                  <Badge tone={m.role === 'owner' ? 'warn' : 'default'}>{m.role}</Badge>
                )}
              </div>
            ))}
            {data.invites.length > 0 && <div className="mt-2 px-2 text-[11px] font-semibold uppercase tracking-wide text-muted-foreground">Pending invitations</div>}
            {data.invites.map((i, n) => (
              <div key={i.id ?? i.email + n} className="flex items-center gap-3 px-2 py-1 text-[13px] text-muted-foreground">
                <span className="flex-1 truncate">{i.email}</span>
                <Badge>{i.role}</Badge>
                {i.expiresAt && <span className="text-[11px]">until {new Date(i.expiresAt).toLocaleDateString()}</span>}
              </div>
            ))}
          </div>
        )}
      </DialogContent>
    </Dialog>
  )
}
