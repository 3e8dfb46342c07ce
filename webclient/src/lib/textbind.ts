// Binding a <textarea> to a Y.Text: local edits become the smallest
// delete+insert (common prefix and suffix kept, so concurrent edits
// elsewhere in the text survive), remote edits move the caret the way the
// text moved around it.
import * as Y from 'yjs'

export interface TextChange {
  index: number
  remove: number
  insert: string
}

/**
 * The single change turning `before` into `after`. When the change is
 * ambiguous (typing a letter next to the same letter), `cursor` (the caret
 * after the edit) picks the place the user typed at.
 */
export function diffText(before: string, after: string, cursor?: number): TextChange | null {
  if (before === after) return null
  let start = 0
  const minLen = Math.min(before.length, after.length)
  while (start < minLen && before.charCodeAt(start) === after.charCodeAt(start)) start++
  let endB = before.length
  let endA = after.length
  while (endB > start && endA > start && before.charCodeAt(endB - 1) === after.charCodeAt(endA - 1)) {
    endB--
    endA--
  }
  // Prefer the caret: for an insertion, the inserted text ends at the caret.
  if (cursor !== undefined && endB === start && endA > start) {
    const len = endA - start
    const s = cursor - len
    if (s >= 0 && s <= start && after.slice(0, s) === before.slice(0, s) && after.slice(cursor) === before.slice(s)) {
      start = s
      endA = cursor
      endB = s
    }
  }
  // Do not split a surrogate pair.
  if (start > 0 && isHigh(before.charCodeAt(start - 1))) {
    start--
  }
  if (endB < before.length && isLow(before.charCodeAt(endB)) && endA < after.length) {
    endB++
    endA++
  }
  return { index: start, remove: endB - start, insert: after.slice(start, endA) }
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}

/** Applies a change to a Y.Text in one transaction with `origin`. */
export function applyChange(ytext: Y.Text, ch: TextChange, origin: unknown): void {
  const doc = ytext.doc
  const run = () => {
    if (ch.remove > 0) ytext.delete(ch.index, ch.remove)
    if (ch.insert) ytext.insert(ch.index, ch.insert)
  }
  if (doc) doc.transact(run, origin)
  else run()
}

/**
 * Where a caret at `pos` ends up after a Y.Text delta (a remote edit).
 * Text inserted exactly at the caret goes after it.
 */
export function transformPosition(pos: number, delta: { insert?: unknown; delete?: number; retain?: number }[]): number {
  let old = 0 // index in the text before the change
  let out = pos
  for (const op of delta) {
    if (old > pos) break
    if (op.retain !== undefined) {
      old += op.retain
    } else if (op.insert !== undefined) {
      const len = typeof op.insert === 'string' ? op.insert.length : 1
      if (old < pos) out += len
    } else if (op.delete !== undefined) {
      if (old < pos) out -= Math.min(op.delete, pos - old)
      old += op.delete
    }
  }
  return Math.max(0, out)
}

/** Binds a textarea to a Y.Text; returns the unbind function. */
export function bindTextarea(ytext: Y.Text, el: HTMLTextAreaElement, origin: unknown): () => void {
  el.value = ytext.toString()
  let last = el.value
  const onInput = () => {
    if (el.readOnly) return
    const ch = diffText(last, el.value, el.selectionEnd)
    last = el.value
    if (ch) applyChange(ytext, ch, origin)
  }
  const observer = (e: Y.YTextEvent, tr: Y.Transaction) => {
    if (tr.origin === origin && ytext.toString() === el.value) {
      last = el.value
      return
    }
    const delta = e.delta as { insert?: unknown; delete?: number; retain?: number }[]
    const focused = typeof document !== 'undefined' && document.activeElement === el
    const s = el.selectionStart
    const en = el.selectionEnd
    el.value = ytext.toString()
    last = el.value
    if (focused) el.setSelectionRange(transformPosition(s, delta), transformPosition(en, delta))
  }
  el.addEventListener('input', onInput)
  ytext.observe(observer)
  return () => {
    el.removeEventListener('input', onInput)
    ytext.unobserve(observer)
  }
}
