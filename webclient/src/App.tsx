import * as React from 'react'
import { api, type User } from '@/lib/api'
import { match, navigate, usePath } from '@/lib/router'
import { TooltipProvider } from '@/components/ui/tooltip'
import { Spinner } from '@/components/ui/misc'
import { ErrorBoundary } from '@/components/ErrorBoundary'
import { AuthPage } from '@/pages/Auth'
import { ProjectsPage } from '@/pages/Projects'
import { InvitePage } from '@/pages/Invite'
import { AccountPage } from '@/pages/Account'

const StudioPage = React.lazy(() => import('@/studio/Studio'))

export interface AuthState {
  user: User | null
  setUser: (u: User | null) => void
  refresh: () => Promise<void>
}

export const AuthContext = React.createContext<AuthState>({ user: null, setUser: () => {}, refresh: async () => {} })

export function useAuth(): AuthState {
  return React.useContext(AuthContext)
}

export function Link({ to, className, children, ...rest }: React.AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  return (
    <a
      href={to}
      className={className}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return
        e.preventDefault()
        navigate(to)
      }}
      {...rest}
    >
      {children}
    </a>
  )
}

export function App() {
  const [user, setUser] = React.useState<User | null>(null)
  const [loading, setLoading] = React.useState(true)
  const path = usePath()

  const refresh = React.useCallback(async () => {
    try {
      setUser(await api.me())
    } catch {
      setUser(null)
    } finally {
      setLoading(false)
    }
  }, [])

  React.useEffect(() => {
    void refresh()
  }, [refresh])

  const auth = React.useMemo(() => ({ user, setUser, refresh }), [user, refresh])

  let page: React.ReactNode
  if (loading) {
    page = (
      <div className="flex h-full items-center justify-center text-muted-foreground">
        <Spinner />
      </div>
    )
  } else {
    const invite = match('/invite/:token', path)
    const studio = match('/projects/:id', path)
    if (path.startsWith('/register')) page = <AuthPage mode="register" />
    else if (path.startsWith('/login') || !user) page = <AuthPage mode="login" />
    else if (invite) page = <InvitePage token={invite.token} />
    else if (studio)
      page = (
        <React.Suspense
          fallback={
            <div className="flex h-full items-center justify-center text-muted-foreground">
              <Spinner />
            </div>
          }
        >
          <StudioPage key={studio.id} projectId={studio.id} />
        </React.Suspense>
      )
    else if (path.startsWith('/account')) page = <AccountPage />
    else page = <ProjectsPage />
  }

  return (
    <AuthContext.Provider value={auth}>
      <TooltipProvider>
        <ErrorBoundary key={path.split('?')[0]}>{page}</ErrorBoundary>
      </TooltipProvider>
    </AuthContext.Provider>
  )
}
