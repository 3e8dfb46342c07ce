// record.mjs writes ../protocol_vectors.json: y-websocket frames produced
// by the real y-protocols 1.0.7 and yjs 13.6.33, for collab's protocol
// tests. Run: node record.mjs (go test ./collab -run Vectors -update does).
import fs from 'node:fs'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as authProtocol from 'y-protocols/auth'

const hex = (u8) => Buffer.from(u8).toString('hex')
const frame = (fn) => { const e = encoding.createEncoder(); fn(e); return hex(encoding.toUint8Array(e)) }
const vectors = []
const add = (name, kind, bytes, extra = {}) => vectors.push({ name, kind, hex: bytes, ...extra })

const empty = new Y.Doc(); empty.clientID = 7
add('sync step 1, empty doc', 'sync1', frame((e) => { encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep1(e, empty) }))
add('sync step 2, empty doc', 'sync2', frame((e) => { encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep2(e, empty) }))

const d = new Y.Doc(); d.clientID = 7
let upd = null
d.on('update', (u) => { upd = u })
d.getText('t').insert(0, 'hi')
add('sync step 1 after "hi"', 'sync1', frame((e) => { encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep1(e, d) }))
add('update insert "hi"', 'update', frame((e) => { encoding.writeVarUint(e, 0); syncProtocol.writeUpdate(e, upd) }), { payload: hex(upd) })

const big = new Y.Doc(); big.clientID = 300
big.getText('t').insert(0, 'ab😀'); big.getText('t').insert(1, 'X'); big.getText('t').delete(0, 1)
big.getMap('m').set('k', { a: [1, 2.5, 'x', null, true] })
const bigUpd = Y.encodeStateAsUpdate(big)
add('sync step 2 with surrogates, map', 'sync2', frame((e) => { encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep2(e, big) }), { payload: hex(bigUpd) })

const aw = new awarenessProtocol.Awareness(d)
aw.setLocalState({ user: { name: 'A' } })
const awUpd = awarenessProtocol.encodeAwarenessUpdate(aw, [7])
add('awareness set', 'awareness', frame((e) => { encoding.writeVarUint(e, 1); encoding.writeVarUint8Array(e, awUpd) }),
  { entries: [{ client: 7, clock: aw.meta.get(7).clock, state: JSON.stringify(aw.getLocalState()) }] })
aw.setLocalState(null)
const awRm = awarenessProtocol.encodeAwarenessUpdate(aw, [7])
add('awareness removal', 'awareness', frame((e) => { encoding.writeVarUint(e, 1); encoding.writeVarUint8Array(e, awRm) }),
  { entries: [{ client: 7, clock: aw.meta.get(7).clock, state: 'null' }] })
aw.destroy()
add('permission denied', 'auth', frame((e) => { encoding.writeVarUint(e, 2); authProtocol.writePermissionDenied(e, 'read-only') }), { reason: 'read-only' })
add('query awareness', 'query', frame((e) => { encoding.writeVarUint(e, 3) }))

fs.writeFileSync(new URL('../protocol_vectors.json', import.meta.url), JSON.stringify(vectors, null, 2) + '\n')
