// Helpers shared by gen.mjs, peer.mjs and bench.mjs.
import * as Y from 'yjs'

export const hex = (u8) => Buffer.from(u8).toString('hex')
export const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'))

const units = (s) => {
  const out = []
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i))
  return out
}
const cmpUnits = (a, b) => (a < b ? -1 : a > b ? 1 : 0) // JS string order = UTF-16 code unit order

// canon writes a value exactly and deterministically (object keys sorted by
// UTF-16 code units). crdt/yjs_test.go builds the same text from Go values.
export const canon = (v) => {
  if (v === undefined) return 'undefined'
  if (v === null) return 'null'
  switch (typeof v) {
    case 'number': return 'num(' + (Object.is(v, -0) ? '-0' : String(v)) + ')'
    case 'bigint': return 'big(' + v.toString() + ')'
    case 'boolean': return String(v)
    case 'string': return JSON.stringify(v)
  }
  if (v instanceof Uint8Array) return 'bin(' + hex(v) + ')'
  if (v instanceof Y.Doc) return 'doc(' + JSON.stringify(v.guid) + ')'
  if (v instanceof Y.AbstractType) return canon(v.toJSON())
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']'
  return '{' + Object.keys(v).sort(cmpUnits).map(k => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}'
}
void units

// Root kinds, named as crdt.RootKind.
export const rootOf = (doc, name, kind) => {
  switch (kind) {
    case 'text': return doc.getText(name)
    case 'array': return doc.getArray(name)
    case 'map': return doc.getMap(name)
    case 'xml': return doc.getXmlFragment(name)
    case 'xmlelement': return doc.getXmlElement(name)
  }
  throw new Error('unknown kind ' + kind)
}

export const docJSON = (doc, roots) => {
  const out = {}
  for (const [name, kind] of roots) out[name] = canon(rootOf(doc, name, kind).toJSON())
  return out
}

export const hasPending = (doc) => doc.store.pendingStructs !== null || doc.store.pendingDs !== null

// mulberry32: a small seeded PRNG, the same in peer.mjs and the Go tests.
export const prng = (seed) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
