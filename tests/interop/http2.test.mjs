// quire serves HTTP/1.1 only: cleartext HTTP/2 (prior knowledge or an h2c
// upgrade) is refused, so no request can reach the WebSocket path over h2
// (h2o 2.2.5 would assert on an h2 WebSocket upgrade).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import http2 from 'node:http2'
import { startServer, stopAll } from './lib/server.mjs'

after(stopAll)

test('HTTP/2 with prior knowledge is refused; the server carries on', async () => {
  const server = await startServer()
  const outcome = await new Promise((resolve) => {
    const client = http2.connect(server.httpUrl)
    const done = (what) => { client.destroy(); resolve(what) }
    client.on('error', (e) => done(`error: ${e.code || e.message}`))
    const timer = setTimeout(() => done('timeout'), 5000)
    const req = client.request({ ':path': '/ws/h2doc' })
    req.on('response', (h) => { clearTimeout(timer); done(`response ${h[':status']}`) })
    req.on('error', (e) => { clearTimeout(timer); done(`error: ${e.code || e.message}`) })
    req.end()
  })
  assert.match(outcome, /^error|^timeout/, `an h2 request must not be answered, got ${outcome}`)
  const res = await fetch(`${server.httpUrl}/healthz`)
  assert.equal(res.status, 200)
  server.assertAlive()
})

test('an h2c upgrade request is answered over HTTP/1.1, never switched', async () => {
  const server = await startServer()
  const { status, version, upgraded } = await new Promise((resolve, reject) => {
    const req = http.request(`${server.httpUrl}/healthz`, {
      headers: { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAAQAoAAAAAIAAAAA' }
    })
    req.on('upgrade', () => resolve({ upgraded: true }))
    req.on('response', (res) => { res.resume(); resolve({ status: res.statusCode, version: res.httpVersion, upgraded: false }) })
    req.on('error', reject)
    req.end()
  })
  assert.equal(upgraded, false, 'no 101 Switching Protocols to h2c')
  assert.equal(status, 200)
  assert.equal(version, '1.1')
  server.assertAlive()
})
