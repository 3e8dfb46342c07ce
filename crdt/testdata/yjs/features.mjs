// The yjs side of crdt/features_live_test.go: clone(), gcFilter,
// getAttributes(snapshot) / toDelta(snapshot, prevSnapshot, computeYChange)
// and the doc's load/sync events, driven over stdio: one JSON command per
// line in, one JSON reply per line out.
//
//   {"cmd":"clone","update":hex,"client":n,"paths":[path..]}
//        load the update into a doc, push each type's clone() into the array
//        "clones" of a fresh doc (client n), one transaction each
//        → {v1, json}
//   {"cmd":"gcfilter","update":hex,"filter":name,"client":n}
//        apply the update to a doc with gc on and that gcFilter, then delete
//        the roots' content locally → {log, v1, v2, json} after each step
//   {"cmd":"snapreads","update":hex,"snaps":[hex..],"texts":[path..],"elems":[path..]}
//        getAttributes(snapshot) of the elements, toDelta(snapshot, prev,
//        computeYChange) of the texts → {reads, v1} (v1 after the reads)
//   {"cmd":"events","script":["load"|"sync:true"|"sync:false"|"sync"|"destroy"..]}
//        → {log}: the events and isLoaded/isSynced/whenLoaded/whenSynced
//        after each step
import * as Y from 'yjs'
import readline from 'node:readline'
import { hex, unhex, canon, docJSON, rootOf } from './common.mjs'

const ROOTS = [['t', 'text'], ['a', 'array'], ['m', 'map'], ['x', 'xml']]

const load = (update, opts) => {
  const d = new Y.Doc(opts)
  for (const [name, kind] of ROOTS) rootOf(d, name, kind)
  Y.applyUpdate(d, unhex(update))
  return d
}

const resolve = (d, path) => {
  let t = rootOf(d, path[0], ROOTS.find(([n]) => n === path[0])[1])
  for (const step of path.slice(1)) {
    t = t.get(step)
    if (!t) throw new Error('bad path ' + JSON.stringify(path))
  }
  return t
}

const FILTERS = {
  all: () => true,
  none: () => false,
  even: (item) => item.id.clock % 2 === 0,
  notype: (item) => !(item.content instanceof Y.ContentType),
  nostring: (item) => !(item.content instanceof Y.ContentString),
  list: (item) => item.parentSub === null
}

const state = (d, log) => ({
  log: log.splice(0),
  v1: hex(Y.encodeStateAsUpdate(d)),
  v2: hex(Y.encodeStateAsUpdateV2(d)),
  json: docJSON(d, ROOTS)
})

const flush = () => new Promise(resolve => setImmediate(resolve))

const handle = async (c) => {
  switch (c.cmd) {
    case 'clone': {
      const src = load(c.update, { gc: false })
      const dst = new Y.Doc()
      dst.clientID = c.client
      const out = dst.getArray('clones')
      // yjs reinserts a subdocument itself and complains on stderr.
      const error = console.error
      console.error = () => {}
      try {
        for (const p of c.paths) out.push([resolve(src, p).clone()])
      } finally {
        console.error = error
      }
      return { v1: hex(Y.encodeStateAsUpdate(dst)), json: canon(out.toJSON()) }
    }
    case 'gcfilter': {
      const log = []
      const f = FILTERS[c.filter]
      const d = new Y.Doc({
        gc: true,
        gcFilter: (item) => { log.push(`${item.id.client}:${item.id.clock}:${item.length}`); return f(item) }
      })
      d.clientID = c.client
      for (const [name, kind] of ROOTS) rootOf(d, name, kind)
      Y.applyUpdate(d, unhex(c.update))
      const steps = [state(d, log)]
      d.transact(() => {
        d.getText('t').delete(0, d.getText('t').length)
        d.getArray('a').delete(0, d.getArray('a').length)
        for (const k of Array.from(d.getMap('m').keys())) d.getMap('m').delete(k)
      })
      steps.push(state(d, log))
      d.getXmlFragment('x').delete(0, d.getXmlFragment('x').length)
      steps.push(state(d, log))
      return { steps }
    }
    case 'snapreads': {
      const d = load(c.update, { gc: false })
      const snaps = c.snaps.map(h => Y.decodeSnapshot(unhex(h)))
      const ychange = (type, id) => ({ type, user: id.client })
      const reads = []
      snaps.forEach((s, i) => {
        const prev = i > 0 ? snaps[i - 1] : Y.emptySnapshot
        for (const p of c.elems) reads.push(canon(resolve(d, p).getAttributes(s)))
        for (const p of c.texts) {
          const t = resolve(d, p)
          reads.push(canon(t.toDelta(s)))
          reads.push(canon(t.toDelta(s, prev)))
          reads.push(canon(t.toDelta(s, prev, ychange)))
          reads.push(canon(t.toDelta(undefined, s)))
        }
      })
      return { reads, v1: hex(Y.encodeStateAsUpdate(d)) }
    }
    case 'events': {
      const d = new Y.Doc()
      const log = []
      const resolved = new Map()
      const watch = (p) => {
        if (!resolved.has(p)) {
          resolved.set(p, false)
          p.then(() => resolved.set(p, true))
        }
      }
      d.on('load', () => log.push(`load ${d.isLoaded}`))
      d.on('sync', (s) => log.push(`sync ${s === undefined ? true : s} ${d.isSynced} ${d.isLoaded}`))
      for (const step of c.script) {
        watch(d.whenLoaded)
        watch(d.whenSynced)
        switch (step) {
          case 'load': d.emit('load', [d]); break
          case 'sync': d.emit('sync', []); break
          case 'sync:true': d.emit('sync', [true]); break
          case 'sync:false': d.emit('sync', [false]); break
          case 'destroy': d.destroy(); break
          default: throw new Error('unknown step ' + step)
        }
        watch(d.whenSynced)
        await flush()
        log.push(`${step}: ${d.isLoaded} ${d.isSynced} ${resolved.get(d.whenLoaded)} ${resolved.get(d.whenSynced)}`)
      }
      return { log }
    }
  }
  throw new Error('unknown command ' + c.cmd)
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
let queue = Promise.resolve()
rl.on('line', line => {
  queue = queue.then(async () => {
    let reply
    try {
      reply = await handle(JSON.parse(line))
    } catch (e) {
      reply = { error: String(e && e.stack ? e.stack : e) }
    }
    process.stdout.write(JSON.stringify(reply) + '\n')
  })
})
