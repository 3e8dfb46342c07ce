import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addTrack, createUndoManager, moveTrack, readDoc } from './doc'
import { addPoint, automationEvents, mergeLanes, clampPoint, formatValue, hitPoint, insertIndex, movePoint, readParamLane, removePoint, valueAt, valueToY, yToValue } from './automation'

const me = { me: true }
const them = { them: true }

function setup() {
  const doc = new Y.Doc()
  const a = addTrack(doc, { name: 'Vox' }, me)
  const b = addTrack(doc, { name: 'Bass' }, me)
  return { doc, a, b }
}

describe('automation maths', () => {
  it('keeps points in time order', () => {
    const pts: [number, number][] = [[0, 0], [1, 1], [1, 2], [3, 0]]
    expect(insertIndex(pts, -1)).toBe(0)
    expect(insertIndex(pts, 1)).toBe(3)
    expect(insertIndex(pts, 2)).toBe(3)
    expect(insertIndex(pts, 9)).toBe(4)
  })
  it('interpolates linearly and holds the ends', () => {
    const pts: [number, number][] = [[1, -10], [3, 0]]
    expect(valueAt([], 2, -3)).toBe(-3)
    expect(valueAt(pts, 0, 0)).toBe(-10)
    expect(valueAt(pts, 2, 0)).toBe(-5)
    expect(valueAt(pts, 5, 0)).toBe(0)
  })
  it('maps values to pixels and back, clamped', () => {
    expect(valueToY('volume', 6, 10, 66)).toBe(10)
    expect(valueToY('volume', -60, 10, 66)).toBe(76)
    expect(yToValue('pan', 10 + 33, 10, 66)).toBeCloseTo(0)
    expect(yToValue('pan', -100, 10, 66)).toBe(1)
    expect(yToValue('volume', 1000, 10, 66)).toBe(-60)
  })
  it('clamps and refuses what cannot be automated', () => {
    expect(clampPoint('volume', -2, 20)).toEqual([0, 6])
    expect(() => clampPoint('tempo', 0, 0)).toThrow(/cannot be automated/)
    expect(() => clampPoint('pan', NaN, 0)).toThrow(/finite/)
  })
  it('hits the nearest point within the radius', () => {
    const pts: [number, number][] = [[0, 0], [1, 0], [1.1, 0]]
    const toX = (t: number) => t * 100
    const toY = () => 50
    expect(hitPoint(pts, 108, 50, toX, toY)).toBe(2)
    expect(hitPoint(pts, 50, 50, toX, toY)).toBe(-1)
    expect(hitPoint(pts, 2, 54, toX, toY)).toBe(0)
  })
  it('merges lanes of one param', () => {
    const m = mergeLanes([{ id: '1', param: 'pan', points: [[2, 0]] }, { id: '2', param: 'volume', points: [] }, { id: '3', param: 'pan', points: [[1, 1]] }])
    expect([...m.keys()]).toEqual(['pan', 'volume'])
    expect(m.get('pan')!.points).toEqual([[1, 1], [2, 0]])
  })
  it('formats values', () => {
    expect(formatValue('volume', -6)).toBe('-6.0 dB')
    expect(formatValue('pan', -0.4)).toBe('40% L')
    expect(formatValue('pan', 0)).toBe('C')
  })
})

describe('automation editing', () => {
  it('adds points in order into a lane created on first use', () => {
    const { doc, a } = setup()
    expect(readParamLane(doc, a, 'volume')).toBeNull()
    addPoint(doc, a, 'volume', 4, -6, me)
    addPoint(doc, a, 'volume', 1, -12, me)
    addPoint(doc, a, 'volume', 2, 99, me)
    const lane = readParamLane(doc, a, 'volume')!
    expect(lane.points).toEqual([[1, -12], [2, 6], [4, -6]])
    expect(lane.id).not.toBe('')
    // the stored Y.Array is in order too, as the document requires
    const stored = (doc.getArray('tracks').get(0) as Y.Map<unknown>).get('automation') as Y.Array<Y.Map<unknown>>
    expect((stored.get(0).get('points') as Y.Array<unknown>).toJSON()).toEqual([[1, -12], [2, 6], [4, -6]])
    expect(readDoc(doc).tracks[0].automation).toHaveLength(1)
  })
  it('moves a point across others and keeps the order; a gone point is not recreated', () => {
    const { doc, a } = setup()
    addPoint(doc, a, 'pan', 1, 0, me)
    addPoint(doc, a, 'pan', 2, 0.5, me)
    expect(movePoint(doc, a, 'pan', [1, 0], 3, -0.25, me)).toEqual([3, -0.25])
    expect(readParamLane(doc, a, 'pan')!.points).toEqual([[2, 0.5], [3, -0.25]])
    expect(movePoint(doc, a, 'pan', [7, 7], 1, 0, me)).toBeNull()
    expect(readParamLane(doc, a, 'pan')!.points).toHaveLength(2)
  })
  it('deletes a point by value', () => {
    const { doc, a } = setup()
    addPoint(doc, a, 'volume', 1, -3, me)
    addPoint(doc, a, 'volume', 2, -9, me)
    expect(removePoint(doc, a, 'volume', [1, -3], me)).toBe(true)
    expect(removePoint(doc, a, 'volume', [1, -3], me)).toBe(false)
    expect(readParamLane(doc, a, 'volume')!.points).toEqual([[2, -9]])
  })
  it('lanes are per track and per parameter', () => {
    const { doc, a, b } = setup()
    addPoint(doc, a, 'volume', 1, -3, me)
    addPoint(doc, b, 'pan', 1, 1, me)
    const [ta, tb] = readDoc(doc).tracks
    expect(ta.automation.map((l) => l.param)).toEqual(['volume'])
    expect(tb.automation.map((l) => l.param)).toEqual(['pan'])
  })
  it('undo takes back only one’s own point edits', () => {
    const { doc, a } = setup()
    const undo = createUndoManager(doc, me)
    addPoint(doc, a, 'volume', 1, -3, me)
    undo.stopCapturing()
    addPoint(doc, a, 'volume', 2, -6, them)
    undo.stopCapturing()
    movePoint(doc, a, 'volume', [1, -3], 1.5, 0, me)
    undo.undo()
    expect(readParamLane(doc, a, 'volume')!.points).toEqual([[1, -3], [2, -6]])
    undo.undo()
    // the lane stays (its creation is not one's undoable edit): the other's point survives
    expect(readParamLane(doc, a, 'volume')!.points).toEqual([[2, -6]])
  })
  it('points sync to another document, and concurrent adds both survive in order', () => {
    const { doc, a } = setup()
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc))
    addPoint(doc, a, 'volume', 1, -3, me)
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc))
    addPoint(doc, a, 'volume', 3, -1, me)
    addPoint(other, a, 'volume', 2, -2, them)
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc))
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other))
    expect(readParamLane(doc, a, 'volume')!.points).toEqual([[1, -3], [2, -2], [3, -1]])
    expect(readParamLane(other, a, 'volume')).toEqual(readParamLane(doc, a, 'volume'))
  })
  it('two lanes of one param (concurrent creation) read as one and both are editable', () => {
    const { doc, a } = setup()
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc))
    addPoint(doc, a, 'volume', 1, -3, me)
    addPoint(other, a, 'volume', 2, -6, them)
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc))
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other))
    expect(readDoc(doc).tracks[0].automation).toHaveLength(2)
    expect(readParamLane(doc, a, 'volume')!.points).toEqual([[1, -3], [2, -6]])
    expect(movePoint(doc, a, 'volume', [2, -6], 0.5, 0, me)).toEqual([0.5, 0])
    expect(removePoint(doc, a, 'volume', [1, -3], me)).toBe(true)
    expect(readParamLane(doc, a, 'volume')!.points).toEqual([[0.5, 0]])
  })
  it('moving a track keeps its automation', () => {
    const { doc, a } = setup()
    addPoint(doc, a, 'volume', 1, -3, me)
    moveTrack(doc, a, 1, me)
    const t = readDoc(doc).tracks[1]
    expect(t.id).toBe(a)
    expect(t.automation[0].points).toEqual([[1, -3]])
  })
  it('reads odd points leniently', () => {
    const { doc, a } = setup()
    addPoint(doc, a, 'volume', 1, -3, me)
    const lane = ((doc.getArray('tracks').get(0) as Y.Map<unknown>).get('automation') as Y.Array<Y.Map<unknown>>).get(0)
    ;(lane.get('points') as Y.Array<unknown>).push([['x', 1, 2], [0.5, -1]])
    expect(readParamLane(doc, a, 'volume')!.points).toEqual([[0.5, -1], [1, -3]])
  })
})

describe('automation playback', () => {
  it('starts at the value under the playhead and ramps to each later point', () => {
    const pts: [number, number][] = [[1, -20], [3, 0], [5, -10]]
    expect(automationEvents(pts, 2)).toEqual([
      { time: 2, value: -10, ramp: false },
      { time: 3, value: 0, ramp: true },
      { time: 5, value: -10, ramp: true },
    ])
  })
  it('stops at a loop end between points, and holds before the first point', () => {
    const pts: [number, number][] = [[1, -20], [3, 0]]
    expect(automationEvents(pts, 0, 2)).toEqual([
      { time: 0, value: -20, ramp: false },
      { time: 1, value: -20, ramp: true },
      { time: 2, value: -10, ramp: true },
    ])
  })
  it('is empty without points or without time to play', () => {
    expect(automationEvents([], 0)).toEqual([])
    expect(automationEvents([[1, 1]], 2, 2)).toEqual([])
  })
})
