import * as React from 'react'
import { AlertTriangle } from 'lucide-react'
import { Button } from '@/components/ui/button'

/** Shows what went wrong in words instead of a blank page. */
export class ErrorBoundary extends React.Component<{ children: React.ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null }

  static getDerivedStateFromError(error: Error) {
    return { error }
  }

  componentDidCatch(error: Error, info: React.ErrorInfo) {
    console.error('studio error', error, info.componentStack)
  }

  render() {
    if (!this.state.error) return this.props.children
    return (
      <div className="flex h-full items-center justify-center p-8">
        <div role="alert" className="max-w-md rounded-lg border border-red-500/40 bg-red-500/10 p-6">
          <div className="mb-2 flex items-center gap-2 text-red-200">
            <AlertTriangle className="size-5" />
            <h1 className="text-base font-semibold">Something went wrong on this page</h1>
          </div>
          <p className="mb-1 text-sm text-red-100/90">{this.state.error.message || String(this.state.error)}</p>
          <p className="mb-4 text-xs text-muted-foreground">Your project is safe: edits are saved on the server and in this browser.</p>
          <div className="flex gap-2">
            <Button size="sm" onClick={() => this.setState({ error: null })}>
              Try again
            </Button>
            <Button size="sm" variant="outline" onClick={() => location.assign('/')}>
              Back to projects
            </Button>
          </div>
        </div>
      </div>
    )
  }
}
