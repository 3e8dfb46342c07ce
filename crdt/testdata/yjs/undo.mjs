// Records crdt/testdata/undo/capture.json: UndoManager capture grouping in
// yjs with an injected clock (lib0/time reads Date.now, replaced before
// yjs loads). Each scenario lists steps at given times; after every step
// the file holds the text's delta, the map, the stack lengths and the
// manager's events. crdt/undo_test.go (TestYjsUndoCapture) replays them
// with UndoManagerOptions.Now.
//
//   node undo.mjs ../undo/capture.json
import { writeFileSync } from 'node:fs'
let now = 1_000_000
Date.now = () => now
const Y = await import('yjs')

const scenarios = [
  {
    name: 'default timeout merges edits within 500 ms',
    captureTimeout: 500,
    steps: [
      { at: 0, op: 'insert', index: 0, text: 'a' },
      { at: 100, op: 'insert', index: 1, text: 'b' },
      { at: 599, op: 'insert', index: 2, text: 'c' },
      { at: 1099, op: 'insert', index: 3, text: 'd' },
      { at: 1200, op: 'stop' },
      { at: 1210, op: 'insert', index: 0, text: 'e' },
      { at: 1220, op: 'undo' },
      { at: 1230, op: 'undo' },
      { at: 1240, op: 'undo' },
      { at: 1250, op: 'redo' },
      { at: 1260, op: 'insert', index: 0, text: 'f' },
      { at: 1270, op: 'undo' },
      { at: 1280, op: 'undo' }
    ]
  },
  {
    name: 'timeout 0 never merges',
    captureTimeout: 0,
    steps: [
      { at: 0, op: 'insert', index: 0, text: 'ab' },
      { at: 0, op: 'insert', index: 2, text: 'cd' },
      { at: 0, op: 'set', key: 'k', value: 1 },
      { at: 1, op: 'undo' },
      { at: 2, op: 'undo' },
      { at: 3, op: 'redo' },
      { at: 4, op: 'redo' },
      { at: 5, op: 'undo' }
    ]
  },
  {
    name: 'formatting and deletes within one capture',
    captureTimeout: 1000,
    steps: [
      { at: 0, op: 'insert', index: 0, text: 'hello world' },
      { at: 2000, op: 'format', index: 0, len: 5, attrs: { bold: true } },
      { at: 2100, op: 'delete', index: 5, len: 6 },
      { at: 2200, op: 'insert', index: 5, text: '!', attrs: { italic: true } },
      { at: 3500, op: 'format', index: 1, len: 2, attrs: { bold: null } },
      { at: 3600, op: 'set', key: 'k', value: 'v' },
      { at: 3700, op: 'undo' },
      { at: 3800, op: 'undo' },
      { at: 3900, op: 'undo' },
      { at: 4000, op: 'redo' },
      { at: 4100, op: 'redo' },
      { at: 4200, op: 'redo' },
      { at: 4300, op: 'undo' }
    ]
  }
]

const out = []
for (const sc of scenarios) {
  now = 1_000_000
  const d = new Y.Doc()
  d.clientID = 1
  const t = d.getText('t')
  const m = d.getMap('m')
  const um = new Y.UndoManager([t, m], { captureTimeout: sc.captureTimeout })
  let events = []
  const ev = (name) => (e) => events.push(`${name}:${e.type}:${[...e.changedParentTypes.keys()].length}`)
  um.on('stack-item-added', ev('added'))
  um.on('stack-item-updated', ev('updated'))
  um.on('stack-item-popped', ev('popped'))
  const steps = []
  for (const st of sc.steps) {
    now = 1_000_000 + st.at
    events = []
    let result = null
    switch (st.op) {
      case 'insert': st.attrs ? t.insert(st.index, st.text, st.attrs) : t.insert(st.index, st.text); break
      case 'delete': t.delete(st.index, st.len); break
      case 'format': t.format(st.index, st.len, st.attrs); break
      case 'set': m.set(st.key, st.value); break
      case 'stop': um.stopCapturing(); break
      case 'undo': result = um.undo() !== null; break
      case 'redo': result = um.redo() !== null; break
    }
    steps.push({ ...st, want: { delta: t.toDelta(), map: m.toJSON(), undo: um.undoStack.length, redo: um.redoStack.length, events, result } })
  }
  out.push({ name: sc.name, captureTimeout: sc.captureTimeout, steps })
}
writeFileSync(process.argv[2], JSON.stringify(out, null, 1) + '\n')
