// hocuspocus-server.mjs starts @hocuspocus/server with its defaults (no
// persistence, no auth hooks) on PORT, for the collab benchmark.
import { Server } from '@hocuspocus/server'

const port = parseInt(process.env.PORT || '1234', 10)
const server = new Server({ port, address: '127.0.0.1', quiet: true })
await server.listen()
console.log('LISTEN 127.0.0.1:' + server.address.port)
