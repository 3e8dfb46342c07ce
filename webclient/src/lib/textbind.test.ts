import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { applyChange, diffText, transformPosition } from './textbind'

describe('diffText', () => {
  it('finds the smallest change', () => {
    expect(diffText('hello world', 'hello brave world')).toEqual({ index: 6, remove: 0, insert: 'brave ' })
    expect(diffText('hello world', 'hello')).toEqual({ index: 5, remove: 6, insert: '' })
    expect(diffText('abc', 'axc')).toEqual({ index: 1, remove: 1, insert: 'x' })
    expect(diffText('same', 'same')).toBeNull()
  })
  it('uses the caret to place an ambiguous insertion', () => {
    // typing "l" after the first "l" of "hello" (caret at 3)
    expect(diffText('helo', 'hello', 3)).toEqual({ index: 2, remove: 0, insert: 'l' })
    expect(diffText('helo', 'hello', 4)).toEqual({ index: 3, remove: 0, insert: 'l' })
  })
  it('never splits a surrogate pair', () => {
    const ch = diffText('a😀b', 'a😁b')!
    expect(ch.remove).toBe(2)
    expect(ch.insert).toBe('😁')
  })
  it('applied diffs keep concurrent edits elsewhere', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    a.getText('notes').insert(0, 'verse one\nchorus')
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
    const before = 'verse one\nchorus'
    applyChange(a.getText('notes'), diffText(before, 'verse one!\nchorus')!, 'local')
    applyChange(b.getText('notes'), diffText(before, 'verse one\nbig chorus')!, 'local')
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b))
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
    expect(a.getText('notes').toString()).toBe('verse one!\nbig chorus')
    expect(b.getText('notes').toString()).toBe(a.getText('notes').toString())
  })
})

describe('transformPosition', () => {
  it('moves the caret with remote edits before it', () => {
    expect(transformPosition(5, [{ insert: 'abc' }])).toBe(8)
    expect(transformPosition(5, [{ retain: 6 }, { insert: 'abc' }])).toBe(5)
    expect(transformPosition(5, [{ retain: 1 }, { delete: 2 }])).toBe(3)
    expect(transformPosition(5, [{ retain: 3 }, { delete: 10 }])).toBe(3)
    expect(transformPosition(5, [{ retain: 5 }, { insert: 'x' }])).toBe(5)
  })
})
