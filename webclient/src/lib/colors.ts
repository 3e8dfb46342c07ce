// Per-user colours (avatars, presence), kept apart from the collab code so
// pages that only show people do not load yjs.

export const PRESENCE_COLORS = ['#f97316', '#22d3ee', '#a3e635', '#f472b6', '#c084fc', '#facc15', '#34d399', '#60a5fa']

/** A stable colour for an id. */
export function colorFor(id: string): string {
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0
  return PRESENCE_COLORS[h % PRESENCE_COLORS.length]
}
