// driver.mjs runs real yjs documents with the real y-websocket provider
// and takes orders from a Go test: one JSON command per stdin line, one
// JSON reply per stdout line ({id, ok, ...} or {id, ok:false, error}).
// Several named clients live in one process.
//
//   {"id":1,"op":"open","client":"a","url":"ws://127.0.0.1:1234/collab","room":"p1","params":{"token":"..."}}
//   {"id":2,"op":"insert","client":"a","index":0,"text":"hi"}
//   {"id":3,"op":"waitText","client":"b","text":"hi","timeoutMs":5000}
import readline from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'

const clients = new Map()
const sockets = new Map()
const warnings = []
const origWarn = console.warn
console.warn = (...args) => { warnings.push(args.map(String).join(' ')) }
console.error = console.warn

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitFor (pred, timeoutMs = 10000, what = 'condition') {
  const deadline = Date.now() + timeoutMs
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timeout waiting for ' + what)
    await sleep(10)
  }
}

function get (name) {
  const c = clients.get(name)
  if (!c) throw new Error('no client ' + name)
  return c
}

const ops = {
  open ({ client, url, room, params = {}, connect = true, clientID }) {
    const doc = new Y.Doc()
    if (clientID) doc.clientID = clientID
    const provider = new WebsocketProvider(url, room, doc, {
      WebSocketPolyfill: WebSocket,
      params,
      connect,
      disableBc: true,
      maxBackoffTime: 200
    })
    const c = { doc, provider, closes: [], syncedCount: 0 }
    provider.on('connection-close', (ev) => {
      if (ev) c.closes.push({ code: ev.code, reason: String(ev.reason || '') })
    })
    provider.on('sync', (s) => { if (s) c.syncedCount++ })
    clients.set(client, c)
    return { clientID: doc.clientID }
  },
  // hpSocket opens one Hocuspocus socket; hpOpen attaches documents to it
  // (multiplexed: several documents, one WebSocket).
  hpSocket ({ socket, url }) {
    sockets.set(socket, new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket, maxDelay: 200 }))
    return {}
  },
  hpOpen ({ client, socket, name, token }) {
    const doc = new Y.Doc()
    const c = { doc, closes: [], syncedCount: 0, hp: true, authFailed: [], scope: null }
    c.provider = new HocuspocusProvider({
      websocketProvider: sockets.get(socket),
      name,
      document: doc,
      token,
      onAuthenticationFailed: ({ reason }) => { c.authFailed.push(reason) },
      onAuthenticated: ({ scope }) => { c.scope = scope }
    })
    c.provider.attach()
    clients.set(client, c)
    return { clientID: doc.clientID }
  },
  hpStatus ({ client }) {
    const c = get(client)
    return { synced: c.provider.synced, unsynced: c.provider.unsyncedChanges, scope: c.scope, authFailed: c.authFailed }
  },
  async hpWaitAcked ({ client, timeoutMs }) {
    const c = get(client)
    await waitFor(() => c.provider.unsyncedChanges === 0 && c.provider.synced, timeoutMs, `all changes acknowledged (unsynced ${c.provider.unsyncedChanges})`)
    return {}
  },
  async hpWaitAuth ({ client, timeoutMs }) {
    const c = get(client)
    await waitFor(() => c.scope !== null || c.authFailed.length > 0, timeoutMs, 'authentication result')
    return { scope: c.scope, authFailed: c.authFailed }
  },
  hpCloseSocket ({ socket }) { sockets.get(socket).destroy(); sockets.delete(socket); return {} },
  // move points an existing document at another server, as a browser
  // does when its node died and the load balancer sends it elsewhere.
  move ({ client, url, room, params = {} }) {
    const c = get(client)
    c.provider.destroy()
    c.provider = new WebsocketProvider(url, room, c.doc, { WebSocketPolyfill: WebSocket, params, disableBc: true, maxBackoffTime: 200 })
    c.provider.on('connection-close', (ev) => { if (ev) c.closes.push({ code: ev.code, reason: String(ev.reason || '') }) })
    return {}
  },
  insert ({ client, index, text }) { get(client).doc.getText('t').insert(index, text); return {} },
  delete ({ client, index, length }) { get(client).doc.getText('t').delete(index, length); return {} },
  mapSet ({ client, key, value }) { get(client).doc.getMap('m').set(key, value); return {} },
  // dawJson reads the project document roots (collab/daw) with their types.
  dawJson ({ client }) {
    const doc = get(client).doc
    return {
      project: doc.getMap('project').toJSON(),
      tracks: doc.getArray('tracks').toJSON(),
      markers: doc.getArray('markers').toJSON(),
      notes: doc.getText('notes').toString(),
      comments: doc.getArray('comments').toJSON()
    }
  },
  // dawAddMarker writes as a browser would.
  dawAddMarker ({ client, id, time, name }) {
    const m = new Y.Map()
    m.set('id', id); m.set('time', time); m.set('name', name); m.set('color', '#00ff00')
    get(client).doc.getArray('markers').push([m])
    return {}
  },
  text ({ client }) { return { text: get(client).doc.getText('t').toString() } },
  json ({ client }) {
    const doc = get(client).doc
    doc.getText('t'); doc.getMap('m')
    return { json: doc.toJSON() }
  },
  state ({ client }) { return { update: Buffer.from(Y.encodeStateAsUpdate(get(client).doc)).toString('base64') } },
  async waitText ({ client, text, timeoutMs }) {
    const t = get(client).doc.getText('t')
    await waitFor(() => t.toString() === text, timeoutMs, `text ${JSON.stringify(text)} (have ${JSON.stringify(t.toString())})`)
    return {}
  },
  async waitSynced ({ client, timeoutMs }) {
    const c = get(client)
    await waitFor(() => c.provider.synced || c.provider.isSynced, timeoutMs, 'synced')
    return {}
  },
  async waitClosed ({ client, timeoutMs }) {
    const c = get(client)
    await waitFor(() => c.closes.length > 0, timeoutMs, 'close')
    return { closes: c.closes }
  },
  disconnect ({ client }) { get(client).provider.disconnect(); return {} },
  connect ({ client }) { get(client).provider.connect(); return {} },
  status ({ client }) {
    const c = get(client)
    return { wsconnected: c.provider.wsconnected, synced: c.provider.synced, shouldConnect: c.provider.shouldConnect, closes: c.closes }
  },
  setAwareness ({ client, state }) { get(client).provider.awareness.setLocalState(state); return {} },
  awareness ({ client }) {
    const out = {}
    for (const [id, s] of get(client).provider.awareness.getStates()) out[id] = s
    return { states: out }
  },
  async waitAwareness ({ client, count, timeoutMs }) {
    const aw = get(client).provider.awareness
    await waitFor(() => aw.getStates().size === count, timeoutMs, `awareness size ${count} (have ${aw.getStates().size})`)
    return {}
  },
  warnings () { return { warnings } },
  destroy ({ client }) {
    const c = get(client)
    if (c.hp) c.provider.detach(); else c.provider.destroy()
    c.doc.destroy()
    clients.delete(client)
    return {}
  },
  exit () { setTimeout(() => process.exit(0), 10); return {} }
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (e) {
    reply({ id: null, ok: false, error: 'bad json: ' + e.message })
    return
  }
  try {
    const fn = ops[cmd.op]
    if (!fn) throw new Error('unknown op ' + cmd.op)
    const res = await fn(cmd)
    reply({ id: cmd.id, ok: true, ...res })
  } catch (e) {
    reply({ id: cmd.id, ok: false, error: String(e && e.message ? e.message : e) })
  }
})
rl.on('close', () => process.exit(0))
process.on('uncaughtException', (e) => { origWarn('uncaught', e) })
