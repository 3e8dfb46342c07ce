import * as React from 'react'
import { LogOut, Settings, FolderOpen } from 'lucide-react'
import { api } from '@/lib/api'
import { navigate } from '@/lib/router'
import { colorFor } from '@/lib/colors'
import { Link, useAuth } from '@/App'
import { Avatar } from '@/components/ui/misc'
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuLabel, DropdownMenuSeparator, DropdownMenuTrigger } from '@/components/ui/dropdown-menu'

export function Logo({ small }: { small?: boolean }) {
  return (
    <span className="inline-flex items-center gap-2 font-semibold tracking-tight">
      <span className={`inline-flex items-center justify-center rounded bg-primary font-black text-black ${small ? 'size-6 text-[11px]' : 'size-8 text-sm'}`}>MB</span>
      <span className={small ? 'text-[13px]' : 'text-base'}>Max Booster</span>
    </span>
  )
}

export function UserMenu() {
  const { user, setUser } = useAuth()
  if (!user) return null
  const name = user.displayName || user.email
  return (
    <DropdownMenu>
      <DropdownMenuTrigger className="rounded-full focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring" aria-label="Account menu">
        <Avatar name={name} color={colorFor(user.id)} />
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end">
        <DropdownMenuLabel>{user.email}</DropdownMenuLabel>
        <DropdownMenuItem onSelect={() => navigate('/')}>
          <FolderOpen /> Projects
        </DropdownMenuItem>
        <DropdownMenuItem onSelect={() => navigate('/account')}>
          <Settings /> Account settings
        </DropdownMenuItem>
        <DropdownMenuSeparator />
        <DropdownMenuItem
          onSelect={async () => {
            try {
              await api.logout()
            } finally {
              setUser(null)
              navigate('/login')
            }
          }}
        >
          <LogOut /> Sign out
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  )
}

export function Shell({ children, actions }: { children: React.ReactNode; actions?: React.ReactNode }) {
  return (
    <div className="flex h-full flex-col">
      <header className="flex h-12 shrink-0 items-center gap-4 border-b border-border bg-panel px-4">
        <Link to="/" aria-label="Projects">
          <Logo small />
        </Link>
        <nav className="flex items-center gap-1 text-[13px] text-muted-foreground">
          <Link to="/" className="rounded px-2 py-1 hover:bg-accent hover:text-foreground">
            Projects
          </Link>
          <Link to="/account" className="rounded px-2 py-1 hover:bg-accent hover:text-foreground">
            Account
          </Link>
        </nav>
        <div className="ml-auto flex items-center gap-2">
          {actions}
          <UserMenu />
        </div>
      </header>
      <main className="min-h-0 flex-1 overflow-auto">{children}</main>
    </div>
  )
}
