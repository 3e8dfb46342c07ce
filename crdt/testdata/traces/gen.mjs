// Records random multi-peer histories made with yjs 13.6.33 as replayable
// traces for TestYjsTraces (crdt/trace_test.go). Run from this directory
// after `npm ci` in ../yjs:  node gen.mjs
// Each trace holds the operations, the updates peers exchanged (in random
// order, with duplicates and delays, so structs go pending), the update
// each local edit produced, the observer events, and the v1/v2 state of
// every peer every 20 steps.
import * as Y from '../yjs/node_modules/yjs/dist/yjs.mjs'
import fs from 'fs'
import zlib from 'zlib'
const record = (seed, nsteps, ndocs, gc, FMT, EVENTS) => {
  let s = seed >>> 0
  const rnd = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296 }
  const ri = n => Math.floor(rnd() * n)
  const hex = u => Buffer.from(u).toString('hex')
  const docs = []
  const boxes = []
  let lastLocal = null
  for (let i = 0; i < ndocs; i++) { const d = new Y.Doc({ gc }); d.clientID = [3, 1000, 7, 2 ** 40 + 5, 300][i]; docs.push(d); boxes.push([]) }
  const evlog = docs.map(() => [])
  const jsonv = v => v instanceof Y.AbstractType ? v.toJSON() : (v instanceof Uint8Array ? Array.from(v) : v)
  if (EVENTS) docs.forEach((d, i) => ['t', 'a', 'm'].forEach(name => {
    const root = name === 't' ? d.getText(name) : name === 'a' ? d.getArray(name) : d.getMap(name)
    root.observeDeep(evs => evlog[i].push({ root: name, evs: evs.map(e => ({ path: e.path, delta: e.delta.map(op => op.insert !== undefined && Array.isArray(op.insert) ? { ...op, insert: op.insert.map(jsonv) } : (op.insert instanceof Y.AbstractType ? { ...op, insert: op.insert.toJSON() } : op)), keys: Array.from(e.keys.entries()).map(([k, v]) => [k, v.action, jsonv(v.oldValue)]).sort() })) }))
  }))
  docs.forEach((d, i) => d.on('update', (u, origin) => { if (origin === 'remote') return; lastLocal = hex(u); for (let j = 0; j < ndocs; j++) if (j !== i) boxes[j].push(u) }))
  const chars = ['a', 'b', 'c', 'x', 'y', '😀', 'é', 'hello', '🎵z']
  const steps = []
  const getNested = (d) => {
    // collect all text/array/map types reachable
    const out = [{ path: ['t'], t: d.getText('t') }, { path: ['a'], t: d.getArray('a') }, { path: ['m'], t: d.getMap('m') }]
    const walk = (t, path) => {
      if (t instanceof Y.Array) t.toArray().forEach((v, i) => { if (v instanceof Y.AbstractType) { out.push({ path: [...path, i], t: v }); walk(v, [...path, i]) } })
      if (t instanceof Y.Map) for (const [k, v] of t.entries()) { if (v instanceof Y.AbstractType) { out.push({ path: [...path, k], t: v }); walk(v, [...path, k]) } }
    }
    walk(d.getArray('a'), ['a']); walk(d.getMap('m'), ['m'])
    return out
  }
  for (let step = 0; step < nsteps; step++) {
    const di = ri(ndocs)
    const d = docs[di]
    const r = rnd()
    if (r < 0.15 && boxes[di].length > 0) {
      const box = boxes[di]
      const k = ri(box.length)
      const u = box[k]
      if (rnd() < 0.7) box.splice(k, 1)
      const v2 = rnd() < 0.3
      const bytes = v2 ? Y.convertUpdateFormatV1ToV2(u) : u
      if (v2) Y.applyUpdateV2(d, bytes, 'remote'); else Y.applyUpdate(d, bytes, 'remote')
      steps.push({ op: 'deliver', to: di, update: hex(bytes), v2 })
    } else if (r < 0.25) {
      const from = ri(ndocs); const to = ri(ndocs)
      if (from === to) continue
      const upd = Y.encodeStateAsUpdate(docs[from], Y.encodeStateVector(docs[to]))
      Y.applyUpdate(docs[to], upd, 'remote')
      steps.push({ op: 'sync', from, to, update: hex(upd) })
    } else {
      const types = getNested(d)
      const { path, t } = types[ri(types.length)]
      let st = null
      if (t instanceof Y.Text) {
        const q = rnd()
        if (FMT && q < 0.12 && t.length > 0) {
          const idx = ri(t.length); const len = 1 + ri(Math.min(4, t.length - idx))
          const attrs = [{ bold: true }, { bold: null }, { color: 'red' }, { color: null, bold: true }, { italic: { x: 1 } }][ri(5)]
          t.format(idx, len, attrs); st = { op: 'tfmt', idx, len, attrs }
        } else if (FMT && q < 0.2) {
          const idx = ri(t.length + 1); const str = chars[ri(chars.length)]
          const attrs = [{ bold: true }, {}, { color: 'blue' }][ri(3)]
          t.insert(idx, str, attrs); st = { op: 'tinsa', idx, str, attrs }
        } else if (FMT && q < 0.23) {
          const idx = ri(t.length + 1)
          const val = { img: 'p' + ri(9) }; t.insertEmbed(idx, val); st = { op: 'temb', idx, val }
        } else if (rnd() < 0.6 || t.length === 0) {
          const idx = ri(t.length + 1); const str = chars[ri(chars.length)]
          t.insert(idx, str); st = { op: 'tins', idx, str }
        } else {
          const idx = ri(t.length); const len = 1 + ri(Math.min(3, t.length - idx))
          t.delete(idx, len); st = { op: 'tdel', idx, len }
        }
      } else if (t instanceof Y.Array) {
        if (rnd() < 0.65 || t.length === 0) {
          const idx = ri(t.length + 1)
          const k = rnd()
          if (k < 0.1 && path.length < 3) { t.insert(idx, [new Y.Text()]); st = { op: 'ains', idx, kind: 'text' } }
          else if (k < 0.2 && path.length < 3) { t.insert(idx, [new Y.Map()]); st = { op: 'ains', idx, kind: 'map' } }
          else if (k < 0.25 && path.length < 3) { t.insert(idx, [new Y.Array()]); st = { op: 'ains', idx, kind: 'array' } }
          else { const vals = [ri(100), 'v' + ri(10)]; t.insert(idx, vals); st = { op: 'ains', idx, vals } }
        } else {
          const idx = ri(t.length); const len = 1 + ri(Math.min(2, t.length - idx))
          t.delete(idx, len); st = { op: 'adel', idx, len }
        }
      } else if (t instanceof Y.Map) {
        const key = 'k' + ri(4)
        const k = rnd()
        if (k < 0.2) { t.delete(key); st = { op: 'mdel', key } }
        else if (k < 0.28 && path.length < 3) { t.set(key, new Y.Text()); st = { op: 'mset', key, kind: 'text' } }
        else if (k < 0.36 && path.length < 3) { t.set(key, new Y.Array()); st = { op: 'mset', key, kind: 'array' } }
        else if (k < 0.42 && path.length < 3) { t.set(key, new Y.Map()); st = { op: 'mset', key, kind: 'map' } }
        else { const v = rnd() < 0.5 ? ri(1000) : { x: 'y' + ri(3), n: [1, 2.5] }; t.set(key, v); st = { op: 'mset', key, val: v } }
      }
      if (st) { st.doc = di; st.path = path; st.local = lastLocal; steps.push(st) }
      lastLocal = null
    }
    const last = steps[steps.length - 1]
    if (last && !last.events && EVENTS) { last.events = evlog.map(l => l.splice(0)) }
    if (last && !last.states && (steps.length % 20 === 0 || step === nsteps - 1)) { last.states = docs.map(x => hex(Y.encodeStateAsUpdate(x))); last.states2 = docs.map(x => hex(Y.encodeStateAsUpdateV2(x))) }
  }
  const final = docs.map(x => ({ v1: hex(Y.encodeStateAsUpdate(x)), v2: hex(Y.encodeStateAsUpdateV2(x)), sv: hex(Y.encodeStateVector(x)), json: x.toJSON(), delta: x.getText('t').toDelta() }))
  return JSON.stringify({ clients: docs.map(d => d.clientID), gc, steps, final })
}

// Configurations: seed, steps, peers, gc, formatting, events.
const configs = []
for (let i = 1; i <= 8; i++) configs.push([i, 250, 3, true, true, true])
for (let i = 9; i <= 14; i++) configs.push([i, 250, 4, false, true, false])
for (let i = 15; i <= 20; i++) configs.push([i, 300, 5, i % 2 === 0, false, false])
for (let i = 21; i <= 24; i++) configs.push([i, 250, 3, true, false, true])
for (const [seed, n, peers, gc, fmt, events] of configs) {
  const name = `trace_${String(seed).padStart(2, '0')}_${peers}p${gc ? '' : '_nogc'}${fmt ? '_fmt' : ''}${events ? '_ev' : ''}.json.gz`
  fs.writeFileSync(name, zlib.gzipSync(record(seed, n, peers, gc, fmt, events), { level: 9 }))
}
