// A client alone in a room must not hit y-websocket's 30 s "no message"
// watchdog: the server sends every idle client something at least every 15 s.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startServer } from './lib/server.mjs'
import { openRaw, roomName } from './lib/yclient.mjs'

const LIMIT_MS = 15000
const SLACK_MS = 1500

test('an idle raw client receives a message within 15 s', { timeout: 60000 }, async () => {
  const server = await startServer()
  const raw = await openRaw(server, roomName('idle'))
  try {
    await raw.next() // step 1
    await raw.drain(200)
    const t0 = Date.now()
    // Silent client: it sends nothing and only listens.
    const msg = await raw.next(LIMIT_MS + SLACK_MS).catch((e) => {
      throw new Error(`idle client got no message for ${Date.now() - t0} ms (limit ${LIMIT_MS} ms): ${e.message}`)
    })
    const gap = Date.now() - t0
    assert.ok(msg instanceof Uint8Array, 'keep-alive is a binary protocol message')
    assert.ok(gap <= LIMIT_MS + SLACK_MS, `gap ${gap} ms`)
    assert.equal(raw.closeInfo, null)
  } finally {
    raw.close()
    await server.stop()
  }
})
