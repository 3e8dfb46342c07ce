// Records the yjs conformance fixtures replayed by crdt/yjs_test.go.
//
// Usage: node gen.mjs [outdir]   (default: ./fixtures; run by
// `go test ./crdt -run TestYjsFixtures -update`, or `make fixtures`).
//
// Each history makes edits on several Y.Docs with fixed client ids and
// logs every local transaction's update (v1 and v2). A receiver doc then
// applies the logged updates in a chosen delivery order (maybe leaving some
// out, which leaves pending structs or deletions). For each history this
// writes name.json (the updates, the receiver's JSON per root, state
// vector, encodeStateAsUpdate v1/v2, whether it has pending data, and the
// Doc-less operations of updates.js on the updates) and name.update /
// name.v2.update (the receiver's encodeStateAsUpdate).
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { hex, docJSON, hasPending, prng } from './common.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const outDir = path.resolve(process.argv[2] || path.join(here, 'fixtures'))

class World {
  constructor (gc = true) {
    this.gc = gc
    this.docs = []
    this.log = []
  }

  doc (clientID) {
    const d = new Y.Doc({ gc: this.gc })
    d.clientID = clientID
    d.on('update', (u, origin) => { if (origin !== 'remote') this.log.push({ v1: u, v2: null }) })
    d.on('updateV2', (u, origin) => { if (origin !== 'remote') this.log[this.log.length - 1].v2 = u })
    this.docs.push(d)
    return d
  }

  // sync brings b up to date with a.
  sync (a, b) {
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), 'remote')
  }

  syncAll () {
    for (const a of this.docs) for (const b of this.docs) if (a !== b) this.sync(a, b)
  }
}

// RECEIVER is the client id of the docs that apply the logged updates; no
// history edits under it.
const RECEIVER = 3333333

const histories = []
const history = (name, roots, run, opts = {}) => histories.push({ name, roots, run, ...opts })

history('text_basic', [['t', 'text']], w => {
  const t = w.doc(7).getText('t')
  t.insert(0, 'hello')
  t.insert(5, ' world')
  t.insert(0, '>> ')
  t.delete(3, 2)
  t.insert(t.length, '!')
})

history('text_surrogates', [['t', 'text']], w => {
  const t = w.doc(300).getText('t')
  t.insert(0, 'ab😀c')
  t.insert(1, 'X')
  t.delete(0, 1)
  t.insert(3, '|') // inside the surrogate pair: yjs leaves U+FFFD on both sides
  t.insert(0, '👩‍👩‍👧 日本語 é')
  t.delete(2, 3)
})

history('text_lone_surrogate', [['t', 'text']], w => {
  const t = w.doc(11).getText('t')
  t.insert(0, 'a\uD83Db')
  t.insert(1, '\uDE00')
})

history('text_format', [['t', 'text']], w => {
  const t = w.doc(12).getText('t')
  t.insert(0, 'Hello world, bold move')
  t.format(0, 5, { bold: true })
  t.format(3, 6, { italic: true, color: '#ff0000' })
  t.insert(5, ' there', { underline: true })
  t.format(0, 2, { bold: null })
  t.insertEmbed(2, { image: 'a.png', size: [1, 2] }, { link: 'x' })
  t.delete(8, 4)
  t.format(0, t.length, { font: { family: 'mono', size: 12.5 } })
})

history('text_embeds', [['t', 'text']], w => {
  const t = w.doc(13).getText('t')
  t.insert(0, 'ab')
  t.insertEmbed(1, { formula: 'e=mc^2' })
  t.insertEmbed(0, 'plain string embed')
  t.insertEmbed(3, [1, 2, { x: null }])
  t.delete(0, 1)
})

history('array_basic', [['a', 'array']], w => {
  const a = w.doc(21).getArray('a')
  a.push([1, 2, 3])
  a.insert(1, ['x', 'y'])
  a.push([[1, [2]], { k: 'v' }])
  a.delete(0, 2)
  a.unshift([true, false, null])
  a.delete(2, 3)
})

history('any_tags', [['a', 'array'], ['m', 'map']], w => {
  const d = w.doc(22)
  const a = d.getArray('a')
  const vals = [undefined, null, true, false, 0, -0, 1, -1, 63, 64, 2 ** 31 - 1, -(2 ** 31 - 1), -(2 ** 31), 2 ** 31, 2 ** 32,
    0.5, 0.1, 1e300, -1.5e-300, 2 ** 53 - 1, 2 ** 53 + 2, NaN, Infinity, -Infinity, 5e-324,
    0n, -7n, 2n ** 63n - 1n, -(2n ** 63n), '', 'str', '😀 emoji', 'a\u0000b',
    [], [1, 'two', [3, [4, {}]]], {}, { b: 1, a: 2, 10: 'ten', 2: 'two', '01': 'x' }, { nested: { deep: [null, undefined, 1.25] } }]
  // Arrays take no top-level undefined or bigint (maps do); nest them.
  a.insert(0, vals.map(v => (v === undefined || typeof v === 'bigint') ? [v] : v))
  const m = d.getMap('m')
  vals.forEach((v, i) => m.set('k' + i, v))
  m.set('obj', { z: 1, y: { x: [1, 2] }, 1: 'one' })
})

history('binary', [['a', 'array'], ['m', 'map']], w => {
  const d = w.doc(23)
  d.getArray('a').push([new Uint8Array([1, 2, 3]), new Uint8Array([]), 'after'])
  d.getArray('a').insert(1, [new Uint8Array([255])])
  d.getMap('m').set('bin', new Uint8Array([0, 1, 2, 250]))
  d.getArray('a').delete(0, 1)
})

history('map_basic', [['m', 'map']], w => {
  const m = w.doc(31).getMap('m')
  m.set('a', 1)
  m.set('b', 'two')
  m.set('a', 3)
  m.delete('b')
  m.set('c', [1, 2])
  m.set('d', { e: 'f' })
  m.set('a', null)
  m.set('😀', 'emoji key')
  m.set('', 'empty key')
})

history('map_race', [['m', 'map']], w => {
  const [a, b, c] = [w.doc(1), w.doc(2), w.doc(3)]
  a.getMap('m').set('k', 'a1')
  b.getMap('m').set('k', 'b1')
  c.getMap('m').set('k', 'c1')
  c.getMap('m').set('other', 3)
  w.syncAll()
  b.getMap('m').set('k', 'b2')
  a.getMap('m').delete('k')
  c.getMap('m').set('other', 4)
  w.syncAll()
  a.getMap('m').set('k', 'a3')
})

history('text_concurrent', [['t', 'text']], w => {
  const ds = [w.doc(5), w.doc(3), w.doc(9)]
  ds[0].getText('t').insert(0, 'base text')
  w.syncAll()
  ds.forEach((d, i) => d.getText('t').insert(4, `[${d.clientID}]`))
  ds[1].getText('t').delete(0, 2)
  ds[2].getText('t').insert(0, 'S')
  w.syncAll()
  ds.forEach((d, i) => d.getText('t').insert(d.getText('t').length, `${i}`))
  ds[0].getText('t').delete(3, 6)
  w.syncAll()
})

history('array_concurrent', [['a', 'array']], w => {
  const ds = [w.doc(40), w.doc(41), w.doc(42)]
  ds[0].getArray('a').push([0, 1, 2, 3, 4, 5])
  w.syncAll()
  ds[0].getArray('a').delete(1, 3)
  ds[1].getArray('a').insert(2, ['b'])
  ds[2].getArray('a').insert(2, ['c', 'c'])
  ds[2].getArray('a').delete(0, 1)
  w.syncAll()
  ds[1].getArray('a').push(['end'])
  w.sync(ds[1], ds[0])
  ds[0].getArray('a').delete(0, ds[0].getArray('a').length)
  w.syncAll()
})

const nested = (w) => {
  const d = w.doc(50)
  const m = d.getMap('root')
  const arr = new Y.Array()
  m.set('list', arr)
  const inner = new Y.Map()
  arr.push(['first', inner])
  const text = new Y.Text()
  inner.set('text', text)
  text.insert(0, 'nested 😀 text')
  text.format(0, 6, { bold: true })
  inner.set('num', 42)
  const deep = new Y.Array()
  inner.set('deep', deep)
  deep.push([new Y.Map()])
  deep.get(0).set('x', 'y')
  arr.push([new Y.Text('later')])
  inner.delete('num')
  m.set('gone', new Y.Array())
  m.get('gone').push([1, 2, new Y.Text('child')])
  m.delete('gone') // deleting a type: its children are GC'd (gc on)
  arr.delete(1, 1)
}
history('nested_types', [['root', 'map']], nested)
history('nested_types_nogc', [['root', 'map']], nested, { gc: false })

const deletions = (w) => {
  const [a, b] = [w.doc(60), w.doc(61)]
  a.getText('t').insert(0, 'abcdefghij')
  a.getArray('a').push(['x', 'y', 'z'])
  w.syncAll()
  b.getText('t').delete(2, 5)
  a.getText('t').delete(0, 1)
  a.getText('t').insert(5, 'MID')
  b.getArray('a').delete(1, 1)
  w.syncAll()
  b.getText('t').delete(0, b.getText('t').length)
  a.getArray('a').delete(0, 1)
}
history('deletes', [['t', 'text'], ['a', 'array']], deletions)
history('deletes_nogc', [['t', 'text'], ['a', 'array']], deletions, { gc: false })

history('xml', [['x', 'xml']], w => {
  const d = w.doc(70)
  const frag = d.getXmlFragment('x')
  const p = new Y.XmlElement('p')
  frag.insert(0, [p])
  p.setAttribute('class', 'intro')
  p.setAttribute('data-n', '1')
  const t = new Y.XmlText()
  p.insert(0, [t])
  t.insert(0, 'Hello <xml> & world')
  t.format(0, 5, { strong: {} })
  const hook = new Y.XmlHook('custom-hook')
  hook.set('k', 'v')
  frag.insert(1, [hook])
  const div = new Y.XmlElement('div')
  frag.insert(0, [div])
  div.insert(0, [new Y.XmlElement('br'), new Y.XmlText('tail')])
  p.removeAttribute('data-n')
  frag.delete(0, 1)
})

history('subdocs', [['m', 'map'], ['a', 'array']], w => {
  const d = w.doc(80)
  const m = d.getMap('m')
  m.set('plain', new Y.Doc({ guid: 'guid-plain' }))
  m.set('opts', new Y.Doc({ guid: 'guid-opts', gc: false, autoLoad: true, meta: { title: 'x', n: 1 } }))
  d.getArray('a').push([new Y.Doc({ guid: 'guid-in-array', meta: 'm' })])
  m.delete('plain')
})

history('big_client_ids', [['t', 'text'], ['m', 'map']], w => {
  const ds = [w.doc(2 ** 53 - 1), w.doc(2 ** 32 + 5), w.doc(2 ** 31), w.doc(1)]
  ds.forEach((d, i) => { d.getText('t').insert(0, `c${i}`); d.getMap('m').set('k', i) })
  w.syncAll()
  ds[0].getText('t').delete(1, 3)
  ds[3].getMap('m').set('k', 'last')
  w.syncAll()
})

// Prepending one character at a time, then deleting everything: the
// deleted items cannot merge (each has a different right origin), and v2
// encodes them in a few bytes (3,000 structs in about 40 bytes).
history('compact_v2_deleted_prepends', [['t', 'text']], w => {
  const d = w.doc(130)
  const t = d.getText('t')
  d.transact(() => { for (let i = 0; i < 3000; i++) t.insert(0, 'x') })
  t.delete(0, t.length)
})

// Out-of-order delivery: all updates arrive, reversed.
const ooo = (w) => {
  const [a, b] = [w.doc(90), w.doc(91)]
  const t = a.getText('t')
  t.insert(0, 'one ')
  t.insert(4, 'two ')
  a.getMap('m').set('x', 1)
  w.syncAll()
  b.getText('t').insert(0, 'B:')
  b.getText('t').delete(3, 2)
  b.getMap('m').set('x', 2)
  t.insert(t.length, 'three')
  t.delete(0, 2)
}
history('out_of_order', [['t', 'text'], ['m', 'map']], ooo, { order: n => [...Array(n).keys()].reverse() })
history('pending_structs', [['t', 'text'], ['m', 'map']], ooo, { order: n => [...Array(n).keys()].filter(i => i !== 1) })
history('pending_delete_set', [['t', 'text']], w => {
  const a = w.doc(95)
  const t = a.getText('t')
  t.insert(0, 'abc') // update 0
  t.insert(3, 'def') // update 1 (withheld)
  t.delete(2, 3) // update 2: deletes across the withheld insert
  t.insert(0, 'x') // update 3
}, { order: () => [0, 2, 3] })
history('pending_shuffled', [['t', 'text'], ['a', 'array'], ['m', 'map']], w => {
  const rnd = prng(4242)
  const ds = [w.doc(100), w.doc(101), w.doc(102)]
  for (let i = 0; i < 60; i++) {
    const d = ds[Math.floor(rnd() * ds.length)]
    const t = d.getText('t')
    const r = rnd()
    if (r < 0.4) t.insert(Math.floor(rnd() * (t.length + 1)), 'ab😀'.slice(0, 1 + Math.floor(rnd() * 4)))
    else if (r < 0.55 && t.length > 0) t.delete(Math.floor(rnd() * t.length), 1)
    else if (r < 0.75) d.getArray('a').insert(0, [i])
    else d.getMap('m').set('k' + (i % 5), i)
    if (rnd() < 0.2) w.syncAll()
  }
}, { order: n => { const rnd = prng(7); const o = [...Array(n).keys()]; for (let i = n - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [o[i], o[j]] = [o[j], o[i]] } return o.filter((_, k) => k % 7 !== 3) } })

// Random edits by several clients with syncs, all delivered in order.
for (const seed of [1, 2, 3]) {
  for (const gc of [true, false]) {
    history(`random_${seed}${gc ? '' : '_nogc'}`, [['t', 'text'], ['a', 'array'], ['m', 'map']], w => {
      const rnd = prng(seed)
      const ds = [w.doc(10 + seed), w.doc(20 + seed), w.doc(2 ** 40 + seed)]
      const words = ['a', 'bc', 'def', '😀', 'x😀y', 'é', ' ']
      for (let i = 0; i < 150; i++) {
        const d = ds[Math.floor(rnd() * ds.length)]
        const t = d.getText('t')
        const a = d.getArray('a')
        const m = d.getMap('m')
        const r = rnd()
        if (r < 0.35) t.insert(Math.floor(rnd() * (t.length + 1)), words[Math.floor(rnd() * words.length)])
        else if (r < 0.5 && t.length > 0) { const p = Math.floor(rnd() * t.length); t.delete(p, Math.min(1 + Math.floor(rnd() * 3), t.length - p)) } else if (r < 0.55 && t.length > 0) t.format(Math.floor(rnd() * t.length), 2, { b: rnd() < 0.5 ? true : null })
        else if (r < 0.7) a.insert(Math.floor(rnd() * (a.length + 1)), [i, 'v' + i])
        else if (r < 0.8 && a.length > 0) a.delete(Math.floor(rnd() * a.length), 1)
        else if (r < 0.95) m.set('k' + Math.floor(rnd() * 6), rnd() < 0.2 ? new Y.Text('t' + i) : i)
        else m.delete('k' + Math.floor(rnd() * 6))
        if (rnd() < 0.15) w.sync(ds[Math.floor(rnd() * 3)], ds[Math.floor(rnd() * 3)])
      }
      w.syncAll()
    }, { gc })
  }
}

// Legacy ContentJSON (ref 2): yjs 13.6 reads it but no longer writes it,
// so the update is built by hand.
history('json_legacy', [['arr', 'array'], ['m', 'map']], () => {}, {
  handmade: () => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 2) // clients
    // client 10: one map entry
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, 10)
    encoding.writeVarUint(e, 0)
    encoding.writeUint8(e, 0x22) // JSON, parentSub
    encoding.writeVarUint(e, 1)
    encoding.writeVarString(e, 'm')
    encoding.writeVarString(e, 'k')
    encoding.writeVarUint(e, 1)
    encoding.writeVarString(e, '{"x":true,"2":[1.5,"s"]}')
    // client 9: two array runs
    encoding.writeVarUint(e, 2)
    encoding.writeVarUint(e, 9)
    encoding.writeVarUint(e, 0)
    encoding.writeUint8(e, 2) // JSON, root parent
    encoding.writeVarUint(e, 1)
    encoding.writeVarString(e, 'arr')
    encoding.writeVarUint(e, 3)
    encoding.writeVarString(e, '{"a":1}')
    encoding.writeVarString(e, 'undefined')
    encoding.writeVarString(e, '[1,"x",null]')
    encoding.writeUint8(e, 0x82) // JSON, origin (9,2)
    encoding.writeVarUint(e, 9)
    encoding.writeVarUint(e, 2)
    encoding.writeVarUint(e, 1)
    encoding.writeVarString(e, '"tail \\ud83d\\ude00"')
    encoding.writeVarUint(e, 1) // delete set: client 9, deletes clock 1
    encoding.writeVarUint(e, 9)
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, 1)
    const v1 = encoding.toUint8Array(e)
    return [{ v1, v2: Y.convertUpdateFormatV1ToV2(v1) }]
  }
})

// Format keys and XML names in v2 written with key reuse (a key clock that
// points back at an earlier key), which decoders must accept although the
// 13.6 encoder never writes it: the update is encoded with a subclass of
// UpdateEncoderV2 whose writeKey reuses keys.
class ReusingEncoderV2 extends Y.UpdateEncoderV2 {
  writeKey (key) {
    const clock = this.keyMap.get(key)
    if (clock === undefined) {
      this.keyMap.set(key, this.keyClock)
      this.keyClockEncoder.write(this.keyClock++)
      this.stringEncoder.write(key)
    } else {
      this.keyClockEncoder.write(clock)
    }
  }
}
history('v2_key_reuse', [['t', 'text'], ['x', 'xml']], () => {}, {
  handmade: () => {
    const d = new Y.Doc()
    d.clientID = 110
    const t = d.getText('t')
    t.insert(0, 'abcdefgh')
    t.format(0, 2, { bold: true })
    t.format(3, 2, { bold: true, italic: true })
    t.format(6, 1, { italic: true })
    const x = d.getXmlFragment('x')
    x.insert(0, [new Y.XmlElement('p'), new Y.XmlElement('p'), new Y.XmlHook('h'), new Y.XmlHook('h')])
    const v2 = Y.encodeStateAsUpdateV2(d, undefined, new ReusingEncoderV2())
    if (Buffer.compare(Buffer.from(v2), Buffer.from(Y.encodeStateAsUpdateV2(d))) === 0) throw new Error('v2_key_reuse: no key was reused')
    return [{ v1: Y.convertUpdateFormatV2ToV1(v2), v2 }]
  }
})

// A merge of more than 64 updates where a GC struct (children of a deleted
// type, from a state update) and the items it replaced (from the original
// updates) start at the same clock: yjs's comparator is inconsistent there
// and V8's sort decides.
history('merge_gc_item_ties', [['m', 'map'], ['t', 'text']], () => {}, {
  handmade: () => {
    const w = new World(true)
    const a = w.doc(120)
    const b = w.doc(121)
    const m = a.getMap('m')
    const arr = new Y.Array()
    m.set('arr', arr)
    arr.push([1, 2, 3])
    arr.push(['x'])
    for (let i = 0; i < 70; i++) b.getText('t').insert(0, String(i % 10))
    m.delete('arr')
    const state = { v1: Y.encodeStateAsUpdate(a), v2: Y.encodeStateAsUpdateV2(a) }
    const rnd = prng(5)
    const log = w.log.slice()
    for (let i = log.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [log[i], log[j]] = [log[j], log[i]] }
    log.splice(Math.floor(log.length / 2), 0, state)
    return [state, ...log]
  }
})

const receive = (h, entries) => {
  const r1 = new Y.Doc({ gc: h.gc !== false })
  r1.clientID = RECEIVER
  const r2 = new Y.Doc({ gc: h.gc !== false })
  r2.clientID = RECEIVER
  for (const e of entries) {
    Y.applyUpdate(r1, e.v1, 'remote')
    Y.applyUpdateV2(r2, e.v2, 'remote')
  }
  const json = docJSON(r1, h.roots)
  const state = hex(Y.encodeStateAsUpdate(r1))
  if (JSON.stringify(docJSON(r2, h.roots)) !== JSON.stringify(json) || hex(Y.encodeStateAsUpdate(r2)) !== state) {
    throw new Error(h.name + ': v1 and v2 receivers differ')
  }
  return r1
}

fs.mkdirSync(outDir, { recursive: true })
for (const f of fs.readdirSync(outDir)) {
  if (f.endsWith('.json') || f.endsWith('.update')) fs.unlinkSync(path.join(outDir, f))
}
const names = []
for (const h of histories) {
  const w = new World(h.gc !== false)
  h.run(w)
  let log = h.handmade ? h.handmade() : w.log
  const order = h.order ? h.order(log.length) : [...log.keys()]
  log = order.map(i => log[i])
  const r = receive(h, log)
  const updates = log.map(e => e.v1)
  const updatesV2 = log.map(e => e.v2)
  const merged = Y.mergeUpdates(updates)
  const mergedV2 = Y.mergeUpdatesV2(updatesV2)
  // State vectors to diff against: nothing, half the updates, everything.
  const half = new Y.Doc()
  half.clientID = RECEIVER
  updates.slice(0, Math.ceil(updates.length / 2)).forEach(u => Y.applyUpdate(half, u))
  const svs = [new Uint8Array([0]), Y.encodeStateVector(half), Y.encodeStateVector(r)]
  const meta = Y.parseUpdateMeta(merged)
  const metaV2 = Y.parseUpdateMetaV2(mergedV2)
  const fx = {
    name: h.name,
    gc: h.gc !== false,
    roots: h.roots,
    updates: updates.map(hex),
    updatesV2: updatesV2.map(hex),
    json: docJSON(r, h.roots),
    stateVector: hex(Y.encodeStateVector(r)),
    stateV1: hex(Y.encodeStateAsUpdate(r)),
    stateV2: hex(Y.encodeStateAsUpdateV2(r)),
    pending: hasPending(r),
    merged: hex(merged),
    mergedV2: hex(mergedV2),
    stateVectorFromMerged: hex(Y.encodeStateVectorFromUpdate(merged)),
    stateVectorFromMergedV2: hex(Y.encodeStateVectorFromUpdateV2(mergedV2)),
    meta: { from: [...meta.from.entries()], to: [...meta.to.entries()] },
    metaV2: { from: [...metaV2.from.entries()], to: [...metaV2.to.entries()] },
    diffs: svs.map(sv => ({ sv: hex(sv), v1: hex(Y.diffUpdate(merged, sv)), v2: hex(Y.diffUpdateV2(mergedV2, sv)) })),
    toV2: updates.map(u => hex(Y.convertUpdateFormatV1ToV2(u))),
    toV1: updatesV2.map(u => hex(Y.convertUpdateFormatV2ToV1(u))),
    mergedToV2: hex(Y.convertUpdateFormatV1ToV2(merged)),
    mergedV2ToV1: hex(Y.convertUpdateFormatV2ToV1(mergedV2))
  }
  fs.writeFileSync(path.join(outDir, h.name + '.json'), JSON.stringify(fx, null, 1) + '\n')
  fs.writeFileSync(path.join(outDir, h.name + '.update'), Y.encodeStateAsUpdate(r))
  fs.writeFileSync(path.join(outDir, h.name + '.v2.update'), Y.encodeStateAsUpdateV2(r))
  names.push(h.name)
}
process.stderr.write(`wrote ${names.length} fixtures to ${outDir}\n`)

// How V8 orders mergeUpdates' readers with yjs's comparator, which is
// inconsistent for a GC and an item at the same clock (both compare as
// less): crdt's emulation of V8's sort is checked against these
// (v8sort.json).
{
  const cmp = (a, b) => a.client === b.client
    ? (a.clock - b.clock !== 0 ? a.clock - b.clock : (a.kind === b.kind ? 0 : a.kind === 'skip' ? 1 : -1))
    : b.client - a.client
  const rnd = prng(99)
  const cases = []
  const elem = (i, clocks) => ({ id: i, client: 1 + Math.floor(rnd() * 3), clock: Math.floor(rnd() * clocks), kind: ['item', 'gc', 'item', 'skip'][Math.floor(rnd() * 4)] })
  for (const n of [2, 3, 5, 8, 13, 21, 34, 50, 63, 64, 65, 100, 127, 128, 200, 500, 1100]) {
    for (let k = 0; k < 4; k++) {
      // random, with many ties
      let input = Array.from({ length: n }, (_, i) => elem(i, k % 2 === 0 ? 4 : 200))
      cases.push({ input, order: input.slice().sort(cmp).map(e => e.id) })
      // nearly sorted, as mergeUpdates sorts: sorted, then the first one moved
      input = Array.from({ length: n }, (_, i) => elem(i, 50)).sort(cmp)
      input[0] = { ...elem(0, 50), id: input[0].id }
      cases.push({ input, order: input.slice().sort(cmp).map(e => e.id) })
    }
  }
  // Compact: input as [client, clock, kind] with ids = positions.
  const kinds = { item: 0, gc: 1, skip: 2 }
  const compact = cases.map(c => ({ input: c.input.map(e => [e.client, e.clock, kinds[e.kind], e.id]), order: c.order }))
  fs.writeFileSync(path.join(here, 'v8sort.json'), JSON.stringify(compact) + '\n')
}
