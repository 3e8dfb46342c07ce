import * as React from 'react'
import * as Y from 'yjs'
import { readDoc, type DocState } from '@/lib/doc'
import type { ProjectSession, PresenceUser, SessionStatus } from '@/lib/collab'

/** The document as plain data, re-read at most once per frame after changes. */
export function useDocState(doc: Y.Doc): DocState {
  const [state, setState] = React.useState(() => readDoc(doc))
  React.useEffect(() => {
    let raf = 0
    const schedule = () => {
      if (raf) return
      raf = requestAnimationFrame(() => {
        raf = 0
        setState(readDoc(doc))
      })
    }
    doc.on('update', schedule)
    schedule()
    return () => {
      doc.off('update', schedule)
      cancelAnimationFrame(raf)
    }
  }, [doc])
  return state
}

export function useSessionStatus(s: ProjectSession): SessionStatus {
  return React.useSyncExternalStore(
    (cb) => s.subscribe(cb),
    () => s.status,
  )
}

export function usePresence(s: ProjectSession, ready: boolean): PresenceUser[] {
  const [list, setList] = React.useState<PresenceUser[]>([])
  React.useEffect(() => {
    const aw = s.provider?.awareness
    if (!aw) return
    let raf = 0
    const update = () => {
      if (raf) return
      raf = requestAnimationFrame(() => {
        raf = 0
        setList(s.presence())
      })
    }
    aw.on('change', update)
    update()
    return () => {
      aw.off('change', update)
      cancelAnimationFrame(raf)
    }
  }, [s, ready])
  return list
}

/** True while the user is typing in a field (shortcuts stay out of the way). */
export function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null
  if (!t) return false
  const tag = t.tagName
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || t.isContentEditable
}
