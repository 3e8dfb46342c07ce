// The yjs side of crdt/live_test.go (TestYjsLive): a set of Y.Docs driven
// over stdio, one JSON command per line in, one JSON reply per line out.
//
//   {"cmd":"reset","clients":[..],"gc":true}           new peers
//   {"cmd":"ops","ops":[op..]}                           local edits, one transaction each
//   {"cmd":"deliver","msgs":[{peer,hex,v2}],"syncs":[[to,from]..]}
//                                                        apply updates (origin "remote"), then sync pairs
//   {"cmd":"state"}                                      JSON, state vector, encodeStateAsUpdate v1/v2 per peer
//   {"cmd":"docless","v1":[hex],"v2":[hex],"sv":hex}     mergeUpdates(V2), diffUpdate(V2), encodeStateVectorFromUpdate(V2), conversions
//   {"cmd":"resolve","rps":[{peer,hex}]}                 createAbsolutePositionFromRelativePosition → index (-1: null)
//   {"cmd":"snaps","snaps":[{peer,hex}]}                 createDocFromSnapshot → JSON and encodeStateAsUpdate of each
//
// With "undo" in reset ({scope: "all"|"tm"|"doc", ignoreRemoteMapChanges}),
// every peer gets a Y.UndoManager (trackedOrigins null and "tracked",
// captureTimeout large: only stopCapturing splits items); ops may carry an
// "origin" (the op runs in doc.transact with it) and may be undo, redo,
// stop (stopCapturing) or clear. Replies then carry "um": the manager's
// events and results in order, and state carries each stack's length.
//
// Every reply carries "emitted": the updates the peers' docs emitted with an
// origin other than "remote" while the command ran (local edits, and the
// formatting cleanups yjs runs after remote changes), in order.
import * as Y from 'yjs'
import readline from 'node:readline'
import { hex, unhex, docJSON, canon } from './common.mjs'

const ROOTS = [['t', 'text'], ['a', 'array'], ['m', 'map'], ['x', 'xml']]
let peers = []
let ums = []
let umEvents = []
let xmlEvents = []
let subdocEvents = []
let docIds = new Map() // Doc → small id, in order of first mention (the Go test numbers them alike)
let emitted = []

const newPeer = (i, clientID, gc) => {
  const d = new Y.Doc({ gc })
  d.clientID = clientID
  d.on('update', (u, origin) => { if (origin !== 'remote') emitted.push({ peer: i, v1: hex(u), v2: null }) })
  d.on('updateV2', (u, origin) => { if (origin !== 'remote') emitted[emitted.length - 1].v2 = hex(u) })
  // Instantiate the roots before any update arrives, as an editor binding
  // does. (yjs types created later, from content that arrived untyped, lose
  // track of formatting: a YText made after format items were integrated
  // keeps using search markers and ignores the formats before a marker.)
  for (const [name] of ROOTS) root(d, name)
  d.getXmlFragment('x').observeDeep(evs => { for (const e of evs) xmlEvents.push(`${i} ${xmlEventDesc(e)}`) })
  d.on('subdocs', ({ added, removed, loaded }) => {
    const list = (set) => Array.from(set).map(subdocDesc).join(' ')
    subdocEvents.push(`${i} A[${list(added)}] R[${list(removed)}] L[${list(loaded)}]`)
  })
  return d
}

const subdocDesc = (sd) => {
  if (!docIds.has(sd)) docIds.set(sd, docIds.size)
  return `#${docIds.get(sd)}:${sd.guid}:${sd.shouldLoad}:${sd.autoLoad}:${sd.gc}:${canon(sd.meta)}:${sd.isDestroyed}`
}

// desc names an XML node for the xml summaries: the Go test writes the same.
const desc = (n) => n === null || n === undefined ? 'null'
  : n instanceof Y.XmlElement ? `<${n.nodeName}>`
    : n instanceof Y.XmlText ? `#text(${n.toString()})`
      : n instanceof Y.XmlHook ? `#hook(${n.hookName})` : '?'

const xmlEventDesc = (e) => {
  const delta = canon(e.delta.map(op => Array.isArray(op.insert) ? { ...op, insert: op.insert.map(v => v instanceof Y.AbstractType ? desc(v) : v) } : op))
  const path = JSON.stringify(e.path)
  if (e instanceof Y.YXmlEvent) {
    const keys = {}
    for (const [k, v] of e.keys) keys[k] = v.action === 'add' ? { action: v.action } : { action: v.action, oldValue: v.oldValue }
    return `xml ${path} ${desc(e.target)} ${e.childListChanged} ${[...e.attributesChanged].sort().join(',')} ${delta} ${canon(keys)}`
  }
  return `other ${path} ${delta}`
}

// xmlSummary exercises the XML read API: tree walker, query selectors,
// siblings, first child, slice, attributes.
const xmlSummary = (d) => {
  const x = d.getXmlFragment('x')
  const walk = Array.from(x.createTreeWalker()).map(desc).join(' ')
  const elems = Array.from(x.createTreeWalker(n => n instanceof Y.XmlElement)).map(e =>
    `${e.nodeName}[${desc(e.prevSibling)},${desc(e.nextSibling)},${desc(e.firstChild)},${e.length},${canon(e.getAttributes())},${e.hasAttribute('id')},${e.querySelectorAll('span').length}]`).join(' ')
  return `${walk} | ${x.querySelectorAll('P').length} ${desc(x.querySelector('span'))} | ${elems} | ${desc(x.firstChild)} ${x.slice(1, 3).map(desc).join(',')} ${x.toArray().length}`
}

const root = (d, name) => {
  switch (name) {
    case 't': return d.getText('t')
    case 'a': return d.getArray('a')
    case 'm': return d.getMap('m')
    case 'x': return d.getXmlFragment('x')
  }
  throw new Error('unknown root ' + name)
}

const resolve = (d, path) => {
  let t = root(d, path[0])
  for (const step of path.slice(1)) {
    if (typeof step === 'number') t = t.get(step)
    else t = t.get(step)
    if (!t) throw new Error('bad path ' + JSON.stringify(path))
  }
  return t
}

const value = (spec) => {
  if (spec.type) {
    switch (spec.type) {
      case 'text': return new Y.Text()
      case 'array': return new Y.Array()
      case 'map': return new Y.Map()
      case 'xmlelement': return new Y.XmlElement(spec.name)
      case 'xmltext': return new Y.XmlText()
      case 'xmlhook': return new Y.XmlHook(spec.name)
      case 'doc': return new Y.Doc({ guid: spec.name, ...spec.v })
    }
    throw new Error('unknown type ' + spec.type)
  }
  if (spec.bin !== undefined) return unhex(spec.bin)
  return spec.v
}

const runOp = (op) => {
  const d = peers[op.peer]
  const t = op.path ? resolve(d, op.path) : null
  switch (op.kind) {
    case 'textInsert': return op.attrs ? t.insert(op.index, op.text, op.attrs) : t.insert(op.index, op.text)
    case 'textDelete': return t.delete(op.index, op.len)
    case 'textFormat': return t.format(op.index, op.len, op.attrs)
    case 'textDelta': return t.applyDelta(op.delta, op.unsanitized ? { sanitize: false } : undefined)
    case 'textEmbed': return op.attrs ? t.insertEmbed(op.index, op.embed, op.attrs) : t.insertEmbed(op.index, op.embed)
    case 'arrayInsert': return t.insert(op.index, op.values.map(value))
    case 'arrayDelete': return t.delete(op.index, op.len)
    case 'mapSet': return t.set(op.key, value(op.value))
    case 'mapDelete': return t.delete(op.key)
    case 'xmlInsert': return t.insert(op.index, op.values.map(value))
    case 'xmlDelete': return t.delete(op.index, op.len)
    case 'xmlSetAttr': return t.setAttribute(op.key, op.text)
    case 'xmlRemoveAttr': return t.removeAttribute(op.key)
    case 'xmlInsertAfter': return t.insertAfter(op.index < 0 ? null : t.get(op.index), op.values.map(value))
    case 'xmlPush': return t.push(op.values.map(value))
    case 'subdocLoad': return Array.from(d.getSubdocs())[op.index].load()
    case 'subdocDestroy': return Array.from(d.getSubdocs())[op.index].destroy()
    case 'xmlUnshift': return t.unshift(op.values.map(value))
  }
  throw new Error('unknown op ' + op.kind)
}

const newUndoManager = (d, i, opts) => {
  const scope = opts.scope === 'doc' ? d : opts.scope === 'tm' ? [d.getText('t'), d.getMap('m')] : ROOTS.map(([n]) => root(d, n))
  const um = new Y.UndoManager(scope, {
    captureTimeout: 1e12,
    trackedOrigins: new Set([null, 'tracked']),
    ignoreRemoteMapChanges: !!opts.ignoreRemoteMapChanges
  })
  const ev = (name) => (e) => umEvents.push(`${i}:${name}:${e.type}:${e.origin === um ? 'um' : String(e.origin)}:${[...e.changedParentTypes.keys()].length}`)
  um.on('stack-item-added', ev('added'))
  um.on('stack-item-updated', ev('updated'))
  um.on('stack-item-popped', ev('popped'))
  um.on('stack-cleared', (e) => umEvents.push(`${i}:cleared:${e.undoStackCleared}:${e.redoStackCleared}`))
  return um
}

const runUndoOp = (op) => {
  const um = ums[op.peer]
  switch (op.kind) {
    case 'undo': umEvents.push(`${op.peer}:undo:${um.undo() !== null}`); return true
    case 'redo': umEvents.push(`${op.peer}:redo:${um.redo() !== null}`); return true
    case 'stop': um.stopCapturing(); return true
    case 'clear': um.clear(); return true
  }
  return false
}

const handle = (c) => {
  switch (c.cmd) {
    case 'reset':
      docIds = new Map()
      peers = c.clients.map((id, i) => newPeer(i, id, c.gc))
      ums = c.undo ? peers.map((d, i) => newUndoManager(d, i, c.undo)) : []
      return {}
    case 'ops':
      for (const op of c.ops) {
        if (ums.length > 0 && runUndoOp(op)) continue
        if (op.origin !== undefined) peers[op.peer].transact(() => runOp(op), op.origin)
        else runOp(op)
      }
      return {}
    case 'snaps':
      // createDocFromSnapshot of each peer's (gc off) doc at each snapshot.
      return {
        snaps: c.snaps.map(({ peer, hex: h }) => {
          const nd = Y.createDocFromSnapshot(peers[peer], Y.decodeSnapshot(unhex(h)))
          for (const [name] of ROOTS) root(nd, name)
          return { json: docJSON(nd, ROOTS), v1: hex(Y.encodeStateAsUpdate(nd)) }
        })
      }
    case 'resolve':
      return {
        indices: c.rps.map(({ peer, hex: h }) => {
          const abs = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(unhex(h)), peers[peer])
          return abs === null ? -1 : abs.index
        })
      }
    case 'deliver': {
      for (const m of c.msgs || []) {
        if (m.v2) Y.applyUpdateV2(peers[m.peer], unhex(m.hex), 'remote')
        else Y.applyUpdate(peers[m.peer], unhex(m.hex), 'remote')
      }
      const diffs = []
      for (const [to, from] of c.syncs || []) {
        const diff = Y.encodeStateAsUpdate(peers[from], Y.encodeStateVector(peers[to]))
        diffs.push(hex(diff))
        Y.applyUpdate(peers[to], diff, 'remote')
      }
      return { diffs }
    }
    case 'docless': {
      // updates.js on a list of updates (v1 and v2 forms of the same ones).
      const u1 = c.v1.map(unhex)
      const u2 = c.v2.map(unhex)
      const sv = unhex(c.sv)
      const merged = Y.mergeUpdates(u1)
      const mergedV2 = Y.mergeUpdatesV2(u2)
      return {
        docless: {
          merged: hex(merged),
          mergedV2: hex(mergedV2),
          diff: hex(Y.diffUpdate(merged, sv)),
          diffV2: hex(Y.diffUpdateV2(mergedV2, sv)),
          sv: hex(Y.encodeStateVectorFromUpdate(merged)),
          svV2: hex(Y.encodeStateVectorFromUpdateV2(mergedV2)),
          toV2: hex(Y.convertUpdateFormatV1ToV2(merged)),
          toV1: hex(Y.convertUpdateFormatV2ToV1(mergedV2))
        }
      }
    }
    case 'state':
      return {
        state: peers.map((d, i) => ({
          json: docJSON(d, ROOTS),
          sv: hex(Y.encodeStateVector(d)),
          v1: hex(Y.encodeStateAsUpdate(d)),
          v2: hex(Y.encodeStateAsUpdateV2(d)),
          stacks: ums.length > 0 ? [ums[i].undoStack.length, ums[i].redoStack.length] : null,
          xml: xmlSummary(d),
          subdocs: Array.from(d.getSubdocs()).map(sd => `${subdocDesc(sd)}:${sd.clientID === d.clientID}:${sd.collectionid}`).join(' ')
        }))
      }
  }
  throw new Error('unknown command ' + c.cmd)
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', line => {
  emitted = []
  umEvents = []
  xmlEvents = []
  subdocEvents = []
  let reply
  try {
    reply = handle(JSON.parse(line))
    reply.emitted = emitted
    reply.um = umEvents
    reply.xmlev = xmlEvents
    reply.subdocs = subdocEvents
  } catch (e) {
    reply = { error: String(e && e.stack ? e.stack : e), emitted }
  }
  process.stdout.write(JSON.stringify(reply) + '\n')
})
