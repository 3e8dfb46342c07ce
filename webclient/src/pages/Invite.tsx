import * as React from 'react'
import { api, ApiError, type Invite } from '@/lib/api'
import { navigate } from '@/lib/router'
import { Shell } from '@/components/Shell'
import { Button } from '@/components/ui/button'
import { Alert, Badge, Card, Spinner } from '@/components/ui/misc'

export function InvitePage({ token }: { token: string }) {
  const [invite, setInvite] = React.useState<Invite | null>(null)
  const [error, setError] = React.useState<string | null>(null)
  const [busy, setBusy] = React.useState(false)

  React.useEffect(() => {
    api.inviteInfo(token).then(setInvite, (err) => setError(err instanceof ApiError ? err.message : String(err)))
  }, [token])

  async function accept() {
    setBusy(true)
    setError(null)
    try {
      const r = (await api.acceptInvite(token)) as { id?: string; projectId?: string }
      const id = r?.projectId ?? r?.id ?? invite?.projectId
      navigate(id ? `/projects/${id}` : '/', true)
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <Shell>
      <div className="flex justify-center p-10">
        <Card className="w-full max-w-md p-6">
          <h1 className="mb-3 text-lg font-semibold">Project invitation</h1>
          {error && <Alert className="mb-3">{error}</Alert>}
          {!invite && !error && <Spinner />}
          {invite && (
            <>
              <p className="mb-4 text-sm text-muted-foreground">
                You are invited to <span className="font-medium text-foreground">{invite.projectName ?? 'a project'}</span>
                {invite.inviterName ? ` by ${invite.inviterName}` : ''} as <Badge>{invite.role}</Badge>.
              </p>
              <div className="flex gap-2">
                <Button onClick={accept} disabled={busy}>
                  {busy && <Spinner />} Accept and open
                </Button>
                <Button variant="ghost" onClick={() => navigate('/')}>
                  Not now
                </Button>
              </div>
            </>
          )}
        </Card>
      </div>
    </Shell>
  )
}
