// y-websocket-server.mjs starts @y/websocket-server 0.1.1 (the reference
// y-websocket server, no persistence) on PORT, for the collab benchmark.
import http from 'node:http'
import WebSocket from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

const port = parseInt(process.env.PORT || '1234', 10)
const wss = new WebSocket.Server({ noServer: true })
const server = http.createServer((_req, res) => { res.writeHead(200); res.end('okay') })
wss.on('connection', setupWSConnection)
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
})
server.listen(port, '127.0.0.1', () => console.log('LISTEN 127.0.0.1:' + server.address().port))
