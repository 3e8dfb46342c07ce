// Records the snapshot conformance fixtures replayed by crdt/snapshot_test.go.
//
// Usage: node snapshot.mjs [outfile]   (default: ../snapshot/snapshots.json;
// run by `go test ./crdt -run TestYjsSnapshots -update`).
//
// Each history edits several Y.Docs (gc off, fixed client ids) and logs
// every local update (v1 and v2). A receiver applies the log in order and
// takes a snapshot after every update; the fixture holds each snapshot's
// encodeSnapshot / encodeSnapshotV2 bytes, the JSON and state of
// createDocFromSnapshot at that point (from the receiver at the end),
// snapshotContainsUpdate of every (snapshot, update) pair (yjs does not
// export the V2 variant; Go checks its V2 answer against the same), which
// snapshots are equalSnapshots.
import * as Y from 'yjs'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { hex, docJSON, prng } from './common.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const outFile = path.resolve(process.argv[2] || path.join(here, '..', 'snapshot', 'snapshots.json'))

const RECEIVER = 3333333

const makeWorld = () => {
  const w = { docs: [], log: [] }
  w.doc = (clientID) => {
    const d = new Y.Doc({ gc: false })
    d.clientID = clientID
    d.on('update', (u, origin) => { if (origin !== 'remote') w.log.push({ v1: u, v2: null }) })
    d.on('updateV2', (u, origin) => { if (origin !== 'remote') w.log[w.log.length - 1].v2 = u })
    w.docs.push(d)
    return d
  }
  w.sync = () => {
    for (const a of w.docs) {
      for (const b of w.docs) {
        if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), 'remote')
      }
    }
  }
  return w
}

const histories = []
const history = (name, roots, run) => histories.push({ name, roots, run })

history('text', [['t', 'text']], w => {
  const a = w.doc(7).getText('t')
  const b = w.doc(11).getText('t')
  a.insert(0, 'hello world')
  w.sync()
  a.delete(2, 3)
  b.insert(5, 'XYZ')
  b.delete(0, 1)
  w.sync()
  a.insert(3, 'ab')
  a.delete(1, 4)
  w.sync()
  b.delete(0, b.length)
})

history('array_map', [['a', 'array'], ['m', 'map']], w => {
  const d1 = w.doc(5)
  const d2 = w.doc(9)
  d1.getArray('a').insert(0, [1, 2, 3, 'x', { k: true }])
  d1.getMap('m').set('k', 'v1')
  w.sync()
  d2.getArray('a').delete(1, 2)
  d2.getMap('m').set('k', 'v2')
  d1.getMap('m').set('other', [1, 2])
  d1.getArray('a').insert(1, ['y'])
  w.sync()
  const inner = new Y.Map()
  d2.getArray('a').push([inner])
  inner.set('deep', 1)
  d1.getMap('m').delete('k')
  w.sync()
  d2.getArray('a').delete(0, 1)
})

history('xml', [['x', 'xml']], w => {
  const d1 = w.doc(21)
  const d2 = w.doc(22)
  const f = d1.getXmlFragment('x')
  const p = new Y.XmlElement('p')
  f.insert(0, [p])
  p.setAttribute('class', 'a')
  const t = new Y.XmlText()
  p.insert(0, [t])
  t.insert(0, 'lyrics here')
  w.sync()
  const p2 = d2.getXmlFragment('x').get(0)
  p2.setAttribute('class', 'b')
  p2.get(0).delete(0, 7)
  f.insert(1, [new Y.XmlElement('hr')])
  w.sync()
  f.delete(0, 1)
})

history('random', [['t', 'text'], ['a', 'array']], w => {
  const rnd = prng(42)
  const docs = [w.doc(31), w.doc(32), w.doc(33)]
  for (let i = 0; i < 40; i++) {
    const d = docs[Math.floor(rnd() * docs.length)]
    const t = d.getText('t')
    const a = d.getArray('a')
    const r = rnd()
    if (r < 0.35) t.insert(Math.floor(rnd() * (t.length + 1)), 'abcdefg'.slice(0, 1 + Math.floor(rnd() * 6)))
    else if (r < 0.55 && t.length > 0) {
      const i0 = Math.floor(rnd() * t.length)
      t.delete(i0, 1 + Math.floor(rnd() * Math.min(4, t.length - i0)))
    } else if (r < 0.8) a.insert(Math.floor(rnd() * (a.length + 1)), [i, 'v' + i])
    else if (a.length > 0) a.delete(Math.floor(rnd() * a.length), 1)
    if (rnd() < 0.3) w.sync()
  }
})

const out = []
for (const h of histories) {
  const w = makeWorld()
  h.run(w)
  const recv = new Y.Doc({ gc: false })
  recv.clientID = RECEIVER
  const snaps = [Y.snapshot(recv)]
  for (const u of w.log) {
    Y.applyUpdate(recv, u.v1, 'remote')
    snaps.push(Y.snapshot(recv))
  }
  const points = snaps.map((s, i) => {
    const restored = Y.createDocFromSnapshot(recv, s)
    return {
      v1: hex(Y.encodeSnapshot(s)),
      v2: hex(Y.encodeSnapshotV2(s)),
      json: docJSON(restored, h.roots),
      state: hex(Y.encodeStateAsUpdate(restored)),
      contains: w.log.map(u => Y.snapshotContainsUpdate(s, u.v1)),
      equal: snaps.map((o, j) => j).filter(j => Y.equalSnapshots(s, snaps[j]))
    }
  })
  out.push({
    name: h.name,
    roots: h.roots,
    updates: w.log.map(u => hex(u.v1)),
    updatesV2: w.log.map(u => hex(u.v2)),
    points,
    empty: hex(Y.encodeSnapshot(Y.emptySnapshot)),
    emptyV2: hex(Y.encodeSnapshotV2(Y.emptySnapshot))
  })
}
fs.mkdirSync(path.dirname(outFile), { recursive: true })
fs.writeFileSync(outFile, JSON.stringify(out, null, 1) + '\n')
console.error(`wrote ${out.length} snapshot histories to ${outFile}`)
