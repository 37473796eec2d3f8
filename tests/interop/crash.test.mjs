// Durability under SIGKILL (reliability.md C1): quire relays an update only
// after its durable commit, so whatever any member was relayed must be in the
// store after a crash, whenever the crash comes. Five kill/restart cycles on
// one data directory, each killing the server in the middle of a stream of
// updates.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { startServer, makeDataDir, sleep } from './lib/server.mjs'
import {
  Y, decodeMessage, encUpdate, fetchDoc, openRaw, roomName, waitFor, MSG_SYNC, SYNC_UPDATE
} from './lib/yclient.mjs'

test('every update relayed before a SIGKILL is stored after the restart (5 cycles)', { timeout: 120000 }, async () => {
  const dir = makeDataDir()
  const room = roomName('crash')
  let server = null
  const seen = new Y.Doc() // everything the observers were relayed, over all cycles
  try {
    for (let cycle = 0; cycle < 5; cycle++) {
      server = await startServer({ dataDir: dir })
      const observer = await openRaw(server, room)
      const writer = await openRaw(server, room)
      let relayed = 0
      observer.ws.on('message', (data) => {
        const m = decodeMessage(new Uint8Array(data))
        if (m.type === MSG_SYNC && m.syncType === SYNC_UPDATE) {
          Y.applyUpdate(seen, m.payload)
          relayed++
        }
      })
      // a writer streams one-character updates until the server dies
      const w = new Y.Doc()
      w.clientID = 7000 + cycle
      w.on('update', (u) => { if (writer.ws.readyState === 1) writer.send(encUpdate(u)) })
      let stop = false
      const stream = (async () => {
        for (let i = 0; i < 5000 && !stop; i++) {
          w.getText('t').insert(w.getText('t').length, String.fromCharCode(97 + (i % 26)))
          if (i % 10 === 9) await sleep(1)
        }
      })()
      // the kill comes some time after the first relay, not at a fixed time
      // after the start (a loaded machine could relay nothing by then)
      await waitFor(() => relayed > 0, { timeout: 20000, message: `cycle ${cycle}: a first relay` })
      await sleep(50 + 100 * cycle)
      await server.kill()
      stop = true
      await stream
      observer.terminate()
      writer.terminate()
      assert.ok(relayed > 0, `cycle ${cycle}: the observer was relayed something before the kill`)

      server = await startServer({ dataDir: dir })
      const stored = await fetchDoc(server, room)
      const have = Y.decodeStateVector(Y.encodeStateVector(stored))
      for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(seen))) {
        assert.ok((have.get(client) ?? 0) >= clock,
          `cycle ${cycle}: client ${client} was relayed up to clock ${clock}, the store has ${have.get(client) ?? 0}`)
      }
      assert.equal(stored.store.pendingStructs, null, `cycle ${cycle}: the stored document is complete`)
      await server.stop()
      server = null
    }
  } finally {
    if (server && server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

// SIGKILL keeps the page cache, so the test above cannot tell a synced commit
// from one LMDB only wrote (MDB_NOSYNC and friends lose those in a power
// failure); the flags quire opens LMDB with are checked from its log instead
// (reliability.md C2).
test('LMDB runs without the flags that weaken durability', { timeout: 30000 }, async () => {
  const server = await startServer()
  try {
    const line = server.stderr.split('\n').find((l) => l.includes('store: LMDB flags'))
    assert.ok(line, 'the flags are logged at start-up')
    assert.doesNotMatch(line, /NOSYNC|NOMETASYNC|MAPASYNC/)
    assert.match(line, /every commit is synced \(fdatasync\) before it is acknowledged/)
  } finally {
    await server.stop()
  }
})
