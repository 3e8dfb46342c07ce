// Rich text, XML and snapshots with yjs, measured the same way as
// crdt/bench_rich_test.go so that `make bench-crdt` prints both side by
// side (b4table.sh):
//
//   rich:  the first 40,000 edits of the B4 editing trace with a formatting
//          span after every 16th edit (mulberry32, seed 4; the same spans in
//          Go; yjs drops its search markers in formatted text, so every
//          operation walks the text from its start and the whole trace would
//          take minutes), one transaction
//          per operation, with a v1 update listener; replay of the updates
//          into a fresh doc; load of the final state; heap of a loaded doc.
//   xml:   a 10,000-node XML tree built one node per transaction (100 <p>,
//          each with 99 children: <span>/<em> with a class, or text).
//   snap:  the rich trace with gc off, a snapshot (taken and encoded) at ten
//          evenly spaced points; restoring each (decode, createDocFromSnapshot,
//          toDelta).
//
// Usage: node --expose-gc rich.mjs [trace.json.gz]
// Prints one line per measurement: "yjs <name> <value> <unit>".
import * as Y from 'yjs'
import fs from 'node:fs'
import zlib from 'node:zlib'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const tracePath = process.argv[2] || path.resolve(here, '../../../../shared/data/automerge-paper.json.gz')
const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(tracePath)).toString('utf8'))
const RICH_EDITS = 40000 // as richEdits in crdt/bench_rich_test.go
const edits = trace.txns.flatMap(t => t.patches).slice(0, RICH_EDITS)
const gc = () => { if (global.gc) { global.gc(); global.gc() } }
const out = (name, value, unit) => process.stdout.write(`yjs ${name} ${value} ${unit}\n`)
const time = (name, f) => {
  gc()
  const t0 = process.hrtime.bigint()
  const r = f()
  out(name, Number(process.hrtime.bigint() - t0), 'ns/op')
  return r
}
const heapOf = (make) => {
  const keep = []
  gc()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < 3; i++) keep.push(make())
  gc()
  const n = Math.round((process.memoryUsage().heapUsed - before) / keep.length)
  keep.length = 0
  return n
}

// mulberry32 on integers: the Go benchmark uses the same generator.
const mulberry32 = (seed) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}
const colors = ['red', 'blue', '#0a0']
// formatAt returns the formatting span after edit k, or null.
const richOps = () => {
  const next = mulberry32(4)
  return (k, len) => {
    if (k % 16 !== 15 || len === 0) return null
    const pos = next() % len
    const n = 1 + next() % Math.min(24, len - pos)
    let attrs
    switch (next() % 5) {
      case 0: attrs = { bold: true }; break
      case 1: attrs = { italic: true }; break
      case 2: attrs = { color: colors[next() % 3] }; break
      case 3: attrs = { bold: null }; break
      default: attrs = { link: 'https://example.com/' + (next() % 100) }
    }
    return [pos, n, attrs]
  }
}
const runRich = (d, onPoint) => {
  const t = d.getText('text')
  const fmt = richOps()
  const every = Math.floor(edits.length / 10)
  edits.forEach(([pos, del, ins], k) => {
    d.transact(() => {
      if (del > 0) t.delete(pos, del)
      if (ins) t.insert(pos, ins)
    })
    const f = fmt(k, t.length)
    if (f) d.transact(() => t.format(f[0], f[1], f[2]))
    if (onPoint && (k + 1) % every === 0 && (k + 1) / every <= 10) onPoint()
  })
  return d
}

// rich
const updates = []
const doc = time('rich-apply', () => {
  const d = new Y.Doc()
  d.clientID = 1
  d.on('update', u => updates.push(u))
  return runRich(d)
})
out('rich-chars', doc.getText('text').length, 'chars')
out('rich-updates', updates.length, 'updates')
time('rich-replay', () => {
  const d = new Y.Doc()
  for (const u of updates) Y.applyUpdate(d, u)
})
const v1 = Y.encodeStateAsUpdate(doc)
out('rich-state-v1', v1.length, 'B')
out('rich-delta-ops', doc.getText('text').toDelta().length, 'ops')
time('rich-load', () => {
  const d = new Y.Doc()
  Y.applyUpdate(d, v1)
  d.getText('text').toDelta()
})
out('rich-heap', heapOf(() => { const d = new Y.Doc(); Y.applyUpdate(d, v1); return d }), 'B')

// xml
const buildXML = () => {
  const d = new Y.Doc()
  d.clientID = 1
  const frag = d.getXmlFragment('x')
  for (let i = 0; i < 100; i++) {
    const p = new Y.XmlElement('p')
    frag.push([p])
    p.setAttribute('id', 'p' + i)
    for (let j = 0; j < 99; j++) {
      if (j % 3 === 2) {
        const t = new Y.XmlText()
        p.push([t])
        t.insert(0, `text ${i}.${j}`)
      } else {
        const el = new Y.XmlElement(j % 3 === 0 ? 'span' : 'em')
        el.setAttribute('class', 'c' + (j % 7))
        p.push([el])
      }
    }
  }
  return d
}
const xdoc = time('xml-build', buildXML)
out('xml-state-v1', Y.encodeStateAsUpdate(xdoc).length, 'B')
out('xml-string', xdoc.getXmlFragment('x').toString().length, 'chars')
out('xml-heap', heapOf(buildXML), 'B')

// snapshots
let takeNs = 0n
const snaps = []
const sdoc = new Y.Doc({ gc: false })
sdoc.clientID = 1
runRich(sdoc, () => {
  const t0 = process.hrtime.bigint()
  snaps.push(Y.encodeSnapshot(Y.snapshot(sdoc)))
  takeNs += process.hrtime.bigint() - t0
})
out('snap-take', Number(takeNs), 'ns/op')
out('snap-bytes', snaps.reduce((n, s) => n + s.length, 0), 'B')
let chars = 0
time('snap-restore', () => {
  for (const s of snaps) {
    const d = Y.createDocFromSnapshot(sdoc, Y.decodeSnapshot(s))
    chars += d.getText('text').toDelta().reduce((n, op) => n + op.insert.length, 0)
  }
})
out('snap-chars', chars, 'chars')
out('snap-heap', heapOf(() => Y.createDocFromSnapshot(sdoc, Y.decodeSnapshot(snaps[9]))), 'B')
