// B4 with yjs: the automerge-paper editing trace (259,778 single-edit
// transactions), measured the same way as crdt/bench_test.go so that
// `make bench` can print both side by side.
//
// Usage: node --expose-gc bench.mjs [trace.json.gz]
// Prints one line per measurement: "yjs <name> <value> <unit>".
import * as Y from 'yjs'
import fs from 'node:fs'
import zlib from 'node:zlib'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const tracePath = process.argv[2] || path.resolve(here, '../../../../shared/data/automerge-paper.json.gz')
const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(tracePath)).toString('utf8'))
const gc = () => { if (global.gc) { global.gc(); global.gc() } }
const out = (name, value, unit) => process.stdout.write(`yjs ${name} ${value} ${unit}\n`)
const time = (name, f) => {
  gc()
  const t0 = process.hrtime.bigint()
  const r = f()
  out(name, Number(process.hrtime.bigint() - t0), 'ns/op')
  return r
}

// apply: one transaction per edit, with a v1 update listener.
const updates = []
const doc = time('apply', () => {
  const d = new Y.Doc()
  d.clientID = 1
  d.on('update', u => updates.push(u))
  const t = d.getText('text')
  for (const txn of trace.txns) {
    for (const [pos, del, ins] of txn.patches) {
      d.transact(() => {
        if (del > 0) t.delete(pos, del)
        if (ins) t.insert(pos, ins)
      })
    }
  }
  return d
})
if (doc.getText('text').toString() !== trace.endContent) throw new Error('apply: wrong final text')
out('updates', updates.length, 'updates')
out('update-bytes', updates.reduce((n, u) => n + u.length, 0), 'B')

// replay: every per-edit update into a fresh doc.
time('replay', () => {
  const d = new Y.Doc()
  for (const u of updates) Y.applyUpdate(d, u)
  if (d.getText('text').length !== trace.endContent.length) throw new Error('replay: wrong length')
})

const v1 = Y.encodeStateAsUpdate(doc)
const v2 = Y.encodeStateAsUpdateV2(doc)
out('state-v1', v1.length, 'B')
out('state-v2', v2.length, 'B')

// load: the final state into a fresh doc; and the heap that doc holds.
time('load', () => {
  const d = new Y.Doc()
  Y.applyUpdate(d, v1)
  d.getText('text').toString()
})
// Heap per loaded doc: load 5 copies, divide.
const copies = []
gc()
const before = process.memoryUsage().heapUsed
for (let i = 0; i < 5; i++) {
  const d = new Y.Doc()
  Y.applyUpdate(d, v1)
  copies.push(d)
}
gc()
out('load-heap', Math.round((process.memoryUsage().heapUsed - before) / copies.length), 'B')
if (copies[0].getText('text').toString() !== trace.endContent) throw new Error('load: wrong text')
copies.length = 0

// merge: batches of 100 updates, then the batches (merging all 259,778 at
// once does not finish in ten minutes in yjs).
const merged = time('merge-batched', () => {
  const batches = []
  for (let i = 0; i < updates.length; i += 100) batches.push(Y.mergeUpdates(updates.slice(i, i + 100)))
  return Y.mergeUpdates(batches)
})
out('merged-bytes', merged.length, 'B')
