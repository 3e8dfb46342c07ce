// Records the relative position fixtures replayed by crdt/relpos_test.go.
//
// Usage: node relpos.mjs [outfile]   (default: ../relpos/relpos.json; run by
// `go test ./crdt -run TestYjsRelativePositions -update`).
//
// Each history builds content on doc A (client 1), syncs it to doc B
// (client 2), then creates a relative position at every index (assoc 0 and
// -1) of every sequence type (root and nested Text, Array, XmlFragment,
// XmlElement, XmlText) and records its encodeRelativePosition bytes and
// relativePositionToJSON. Then A and B edit concurrently and sync; each
// position is resolved on A with createAbsolutePositionFromRelativePosition
// (type and index, or null). Go builds the same positions from the base
// state, and resolves yjs's positions after applying the final state.
import * as Y from 'yjs'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { hex, prng } from './common.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const outFile = path.resolve(process.argv[2] || path.join(here, '..', 'relpos', 'relpos.json'))

// typeKey names a type: its root name, or the id of the item holding it.
const typeKey = (t) => t._item === null ? { root: Y.findRootTypeKey(t) } : { item: t._item.id }

const sync = (a, b) => {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
}

const histories = []
const history = (name, gc, build, edit) => histories.push({ name, gc, build, edit })

// seqTypes lists the sequence types of a doc built by build().
const seqTypes = (d) => {
  const out = [d.getText('t'), d.getArray('a'), d.getXmlFragment('x')]
  for (const v of d.getArray('a').toArray()) if (v instanceof Y.AbstractType) out.push(v)
  const walk = (n) => {
    for (const c of n.toArray()) {
      if (c instanceof Y.XmlElement) { out.push(c); walk(c) } else if (c instanceof Y.XmlText) out.push(c)
    }
  }
  walk(d.getXmlFragment('x'))
  return out
}

const build = (d) => {
  d.getText('t').insert(0, 'hello 😀 world')
  const nested = new Y.Text('inner')
  d.getArray('a').insert(0, [1, 'two', nested, { k: 3 }, [4]])
  const nestedArr = new Y.Array()
  d.getArray('a').push([nestedArr])
  nestedArr.insert(0, ['p', 'q', 'r'])
  const p = new Y.XmlElement('p')
  d.getXmlFragment('x').insert(0, [p, new Y.XmlElement('hr')])
  const xt = new Y.XmlText()
  p.insert(0, [xt, new Y.XmlElement('br')])
  xt.insert(0, 'lyric line')
}

history('concurrent', true, build, (a, b) => {
  a.getText('t').insert(2, 'AAA')
  a.getText('t').delete(6, 3)
  b.getText('t').insert(2, 'BB')
  b.getText('t').delete(0, 1)
  a.getArray('a').delete(1, 1)
  b.getArray('a').insert(1, ['new'])
  b.getArray('a').get(1 + 2).insert(2, 'XY') // nested text (index shifted by the insert)
  a.getXmlFragment('x').get(0).get(0).delete(0, 6)
  b.getXmlFragment('x').insert(1, [new Y.XmlElement('h1')])
})

history('delete_all', true, build, (a, b) => {
  a.getText('t').delete(0, a.getText('t').length)
  b.getText('t').insert(b.getText('t').length, '!')
  a.getArray('a').delete(2, 1) // nested text deleted: its items are collected
  b.getArray('a').get(5).delete(0, 3)
  a.getXmlFragment('x').delete(0, 1)
})

history('no_gc_random', false, build, (a, b) => {
  const rnd = prng(7)
  for (let i = 0; i < 30; i++) {
    const d = rnd() < 0.5 ? a : b
    const t = d.getText('t')
    if (rnd() < 0.5) t.insert(Math.floor(rnd() * (t.length + 1)), 'xyz'.slice(0, 1 + Math.floor(rnd() * 3)))
    else if (t.length > 0) t.delete(Math.floor(rnd() * t.length), 1)
    const arr = d.getArray('a')
    if (rnd() < 0.3) arr.insert(Math.floor(rnd() * (arr.length + 1)), [i])
    else if (rnd() < 0.2 && arr.length > 0) arr.delete(Math.floor(rnd() * arr.length), 1)
    if (rnd() < 0.3) sync(a, b)
  }
})

const out = []
for (const h of histories) {
  const a = new Y.Doc({ gc: h.gc })
  a.clientID = 1
  const b = new Y.Doc({ gc: h.gc })
  b.clientID = 2
  h.build(a)
  sync(a, b)
  const base = Y.encodeStateAsUpdate(a)
  const positions = []
  for (const t of seqTypes(a)) {
    for (let i = 0; i <= t.length + 1; i++) {
      for (const assoc of [0, -1]) {
        const r = Y.createRelativePositionFromTypeIndex(t, i, assoc)
        positions.push({ type: typeKey(t), index: i, assoc, bytes: hex(Y.encodeRelativePosition(r)), json: JSON.stringify(Y.relativePositionToJSON(r)) })
      }
    }
  }
  h.edit(a, b)
  sync(a, b)
  for (const p of positions) {
    const r = Y.decodeRelativePosition(Buffer.from(p.bytes, 'hex'))
    const abs = Y.createAbsolutePositionFromRelativePosition(r, a)
    p.resolved = abs === null ? null : { type: typeKey(abs.type), index: abs.index }
  }
  out.push({ name: h.name, gc: h.gc, base: hex(base), final: hex(Y.encodeStateAsUpdate(a)), positions })
}
fs.mkdirSync(path.dirname(outFile), { recursive: true })
fs.writeFileSync(outFile, JSON.stringify(out, null, 1) + '\n')
console.error(`wrote ${out.length} relative position histories to ${outFile}`)
