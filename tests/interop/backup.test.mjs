// Backups as docs/operations.md describes them (reliability.md C8):
// `mdb_copy -c DATA_DIR BACKUP_DIR` while quire runs and takes writes gives a
// consistent copy that a fresh quire serves, holding at least every update
// that had been relayed (so committed) before the copy began.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startServer, makeDataDir, sleep } from './lib/server.mjs'
import {
  Y, connectProvider, decodeMessage, destroyAll, encUpdate, fetchDoc, openRaw, roomName, waitFor, waitStored,
  MSG_SYNC, SYNC_UPDATE
} from './lib/yclient.mjs'

test('mdb_copy -c of a running quire taking writes restores into a working server with everything relayed before the copy', { timeout: 90000 }, async () => {
  const dir = makeDataDir()
  const backup = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-backup-'))
  const rooms = [roomName('backup-a'), roomName('backup-b')]
  let server = await startServer({ dataDir: dir })
  let restored = null
  let extra
  const seen = rooms.map(() => new Y.Doc()) // what observers were relayed, per room
  try {
    const observers = []
    const writers = []
    for (const [i, room] of rooms.entries()) {
      const o = await openRaw(server, room)
      o.ws.on('message', (data) => {
        const m = decodeMessage(new Uint8Array(data))
        if (m.type === MSG_SYNC && m.syncType === SYNC_UPDATE) Y.applyUpdate(seen[i], m.payload)
      })
      observers.push(o)
      const w = await openRaw(server, room)
      writers.push(w)
    }
    // two writers stream one-character updates
    let stop = false
    const streams = writers.map((w, i) => (async () => {
      const d = new Y.Doc()
      d.clientID = 8000 + i
      d.on('update', (u) => { if (w.ws.readyState === 1) w.send(encUpdate(u)) })
      for (let k = 0; k < 20000 && !stop; k++) {
        d.getText('t').insert(d.getText('t').length, String.fromCharCode(97 + (k % 26)))
        if (k % 10 === 9) await sleep(1)
      }
    })())
    await waitFor(() => seen.every((d) => d.getText('t').length > 50), { timeout: 20000, message: 'both rooms to be relayed some text' })
    const before = seen.map((d) => Y.decodeStateVector(Y.encodeStateVector(d)))
    const cp = spawnSync('mdb_copy', ['-c', dir, backup], { encoding: 'utf8', timeout: 30000 })
    assert.equal(cp.status, 0, `mdb_copy: ${cp.stderr}`)
    stop = true
    await Promise.all(streams)
    for (const c of [...observers, ...writers]) c.close()
    await server.stop()
    server = null

    restored = await startServer({ dataDir: backup })
    for (const [i, room] of rooms.entries()) {
      const stored = await fetchDoc(restored, room)
      const have = Y.decodeStateVector(Y.encodeStateVector(stored))
      for (const [client, clock] of before[i]) {
        assert.ok((have.get(client) ?? 0) >= clock, `${room}: client ${client} was relayed up to ${clock} before the copy, the backup has ${have.get(client) ?? 0}`)
      }
      assert.equal(stored.store.pendingStructs, null, `${room}: the backup's document is complete`)
      assert.match(stored.getText('t').toString(), /^(abcdefghijklmnopqrstuvwxyz)*[a-z]*$/, `${room}: the text is a prefix of what was typed`)
    }
    // and it takes writes
    extra = await connectProvider(restored, rooms[0])
    extra.doc.getText('t').insert(0, 'restored ')
    await waitStored(restored, rooms[0], extra.doc)
  } finally {
    destroyAll(extra)
    if (server && server.alive()) await server.stop({ allowFailure: true })
    if (restored && restored.alive()) await restored.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
    fs.rmSync(backup, { recursive: true, force: true })
  }
})
