import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  addClip, addComment, addEffect, addMarker, addTrack, createUndoManager, ensureSettings, moveClip, moveTrack, readDoc, removeTrack,
  setEffectParam, setSettings, splitClip, splitParts, trimEnd, trimStart, updateClip, updateTrack, normalizeClip, audible,
} from './doc'

const A = { local: 'A' }
const B = { local: 'B' }

function pair(): [Y.Doc, Y.Doc] {
  const a = new Y.Doc()
  const b = new Y.Doc()
  a.on('update', (u: Uint8Array, o: unknown) => o !== 'remote' && Y.applyUpdate(b, u, 'remote'))
  b.on('update', (u: Uint8Array, o: unknown) => o !== 'remote' && Y.applyUpdate(a, u, 'remote'))
  return [a, b]
}

const clip0 = { assetId: 'as1', position: 2, offset: 0, length: 4, gain: 0, fadeIn: 0.5, fadeOut: 1 }

describe('document shape (docs/daw-document.md)', () => {
  it('writes every track field the Go side reads', () => {
    const d = new Y.Doc()
    ensureSettings(d, 'Song', A)
    const id = addTrack(d, { name: 'Vocals' }, A)
    const t = d.getArray('tracks').get(0) as Y.Map<unknown>
    expect(t.get('id')).toBe(id)
    for (const k of ['name', 'color', 'kind', 'volume', 'pan', 'mute', 'solo', 'arm']) expect(t.has(k)).toBe(true)
    for (const k of ['effects', 'clips', 'automation']) expect(t.get(k)).toBeInstanceOf(Y.Array)
    expect(d.getMap('project').toJSON()).toEqual({ name: 'Song', tempo: 120, timeSigNum: 4, timeSigDen: 4, key: '', sampleRate: 48000 })
  })
  it('reads leniently: wrong types read as zero values', () => {
    const d = new Y.Doc()
    const t = new Y.Map()
    t.set('id', 't1')
    t.set('volume', 'loud')
    t.set('clips', 'nope')
    d.getArray('tracks').push([t])
    d.getMap('project').set('tempo', 'fast')
    const s = readDoc(d)
    expect(s.tracks[0].volume).toBe(0)
    expect(s.tracks[0].clips).toEqual([])
    expect(s.settings.tempo).toBe(120)
  })
  it('validates settings like collab/daw', () => {
    const d = new Y.Doc()
    expect(() => setSettings(d, { tempo: 10 }, A)).toThrow(/Tempo/)
    expect(() => setSettings(d, { timeSigDen: 3 }, A)).toThrow(/beat unit/)
    setSettings(d, { tempo: 128, timeSigNum: 7, timeSigDen: 8 }, A)
    expect(readDoc(d).settings).toMatchObject({ tempo: 128, timeSigNum: 7, timeSigDen: 8 })
  })
  it('ensureSettings leaves existing values alone', () => {
    const d = new Y.Doc()
    setSettings(d, { tempo: 90 }, A)
    ensureSettings(d, 'X', A)
    expect(readDoc(d).settings.tempo).toBe(90)
  })
})

describe('clip edits', () => {
  it('split keeps the audio continuous', () => {
    const c = { id: 'c', ...clip0 }
    const parts = splitParts(c, 3, 'r')!
    expect(parts[0]).toMatchObject({ position: 2, offset: 0, length: 1, fadeIn: 0.5, fadeOut: 0 })
    expect(parts[1]).toMatchObject({ id: 'r', position: 3, offset: 1, length: 3, fadeIn: 0, fadeOut: 1 })
    expect(splitParts(c, 2, 'r')).toBeNull()
    expect(splitParts(c, 7, 'r')).toBeNull()
  })
  it('split in the document', () => {
    const d = new Y.Doc()
    const t = addTrack(d, {}, A)
    const c = addClip(d, t, clip0, A)
    const r = splitClip(d, t, c, 4, A)
    expect(r).not.toBeNull()
    const clips = readDoc(d).tracks[0].clips
    expect(clips.map((x) => [x.position, x.offset, x.length])).toEqual([
      [2, 0, 2],
      [4, 2, 2],
    ])
  })
  it('trims move the edges, never past the asset', () => {
    const c = { id: 'c', ...clip0, offset: 1 }
    const s = trimStart(c, 2.5)
    expect(s).toMatchObject({ position: 2.5, offset: 1.5, length: 3.5 })
    // the asset begins 1 s before the clip: cannot pull the start further
    expect(trimStart(c, 0)).toMatchObject({ position: 1, offset: 0, length: 5 })
    expect(trimEnd(c, 10, 6)).toMatchObject({ length: 5 })
    expect(trimEnd(c, 1).length).toBeGreaterThan(0)
  })
  it('keeps fades within the clip', () => {
    const n = normalizeClip({ id: 'c', ...clip0, length: 1, fadeIn: 1, fadeOut: 1 })
    expect(n.fadeIn + n.fadeOut).toBeLessThanOrEqual(1 + 1e-9)
  })
  it('moves a clip across tracks keeping its id', () => {
    const d = new Y.Doc()
    const t1 = addTrack(d, {}, A)
    const t2 = addTrack(d, {}, A)
    const c = addClip(d, t1, clip0, A)
    moveClip(d, t1, c, t2, 8, A)
    const s = readDoc(d)
    expect(s.tracks[0].clips).toEqual([])
    expect(s.tracks[1].clips[0]).toMatchObject({ id: c, position: 8, length: 4 })
  })
})

describe('tracks', () => {
  it('reorders keeping id, clips and effects', () => {
    const d = new Y.Doc()
    const ids = [addTrack(d, { name: 'a' }, A), addTrack(d, { name: 'b' }, A), addTrack(d, { name: 'c' }, A)]
    addClip(d, ids[0], clip0, A)
    const fx = addEffect(d, ids[0], 'compressor', A)
    setEffectParam(d, ids[0], fx, 'ratio', 8, A)
    moveTrack(d, ids[0], 2, A)
    const s = readDoc(d)
    expect(s.tracks.map((t) => t.name)).toEqual(['b', 'c', 'a'])
    expect(s.tracks[2].id).toBe(ids[0])
    expect(s.tracks[2].clips.length).toBe(1)
    expect(s.tracks[2].effects[0].params.ratio).toBe(8)
  })
  it('mute and solo decide who is heard', () => {
    const t = { mute: false, solo: false } as Parameters<typeof audible>[0]
    expect(audible(t, false)).toBe(true)
    expect(audible(t, true)).toBe(false)
    expect(audible({ ...t, solo: true }, true)).toBe(true)
    expect(audible({ ...t, mute: true, solo: true }, true)).toBe(false)
  })
  it('concurrent edits from two peers converge', () => {
    const [a, b] = pair()
    const t = addTrack(a, { name: 'Drums' }, A)
    updateTrack(a, t, { volume: -3 }, A)
    updateTrack(b, t, { pan: 0.5 }, B)
    addMarker(b, 4, 'Chorus', '#fff', B)
    addComment(a, { authorId: 'u1', time: 1, endTime: 3, text: 'louder' }, A)
    expect(readDoc(a)).toEqual(readDoc(b))
    expect(readDoc(a).tracks[0]).toMatchObject({ volume: -3, pan: 0.5 })
    expect(readDoc(a).comments[0]).toMatchObject({ time: 1, endTime: 3, text: 'louder' })
  })
})

describe('undo scope', () => {
  it('undoes only one’s own changes', () => {
    const [a, b] = pair()
    const ua = createUndoManager(a, A)
    const ta = addTrack(a, { name: 'mine' }, A)
    ua.stopCapturing()
    addTrack(b, { name: 'theirs' }, B)
    expect(readDoc(a).tracks.length).toBe(2)
    ua.undo()
    const names = readDoc(a).tracks.map((t) => t.name)
    expect(names).toEqual(['theirs'])
    expect(readDoc(b).tracks.map((t) => t.name)).toEqual(['theirs'])
    ua.redo()
    expect(readDoc(b).tracks.find((t) => t.name === 'mine')?.id).toBe(ta)
  })
  it('a remote change is not on the local stack', () => {
    const [a, b] = pair()
    const ua = createUndoManager(a, A)
    const t = addTrack(b, {}, B)
    updateTrack(b, t, { name: 'x' }, B)
    expect(ua.canUndo()).toBe(false)
    removeTrack(a, t, A)
    expect(ua.canUndo()).toBe(true)
    ua.undo()
    expect(readDoc(b).tracks[0].name).toBe('x')
  })
  it('undoing a deletion brings the track back whole, also after a peer edited elsewhere', () => {
    const [a, b] = pair()
    const ua = createUndoManager(a, A)
    const t = addTrack(a, { name: 'Drums' }, A)
    addClip(a, t, clip0, A)
    addEffect(a, t, 'eq', A)
    ua.stopCapturing()
    removeTrack(a, t, A)
    ua.stopCapturing()
    addMarker(b, 2, 'Verse', '#fff', B)
    ua.undo()
    const s = readDoc(b)
    expect(s.tracks.map((x) => x.name)).toEqual(['Drums'])
    expect(s.tracks[0].clips.length).toBe(1)
    expect(s.tracks[0].effects[0].type).toBe('eq')
    expect(s.markers.length).toBe(1)
  })
  it('groups a burst of edits into one step', () => {
    const d = new Y.Doc()
    const u = createUndoManager(d, A)
    const t = addTrack(d, {}, A)
    u.stopCapturing()
    for (let v = 1; v <= 5; v++) updateTrack(d, t, { volume: -v }, A)
    u.undo()
    expect(readDoc(d).tracks[0].volume).toBe(0)
    const c = addClip(d, t, clip0, A)
    u.stopCapturing()
    updateClip(d, t, c, { gain: -6 }, A)
    u.undo()
    expect(readDoc(d).tracks[0].clips[0].gain).toBe(0)
  })
})
