// Durability across restarts: SIGTERM exits 0, nothing received is lost, and
// compaction keeps the content.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { startServer, makeDataDir } from './lib/server.mjs'
import {
  Y, connectProvider, destroyAll, openRaw, waitFor, waitStored, roomName, fetchDoc, fetchDocUpdate,
  encUpdate, encSyncStep1, decodeMessage, withDeadline, MSG_SYNC, SYNC_STEP2, rng, randomEdit, sameState, describeState
} from './lib/yclient.mjs'

/** Start a server on a data dir that outlives it; returns {dir, cleanup}. */
function persistentDir () {
  const dir = makeDataDir()
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/** Make `n` small updates from one Y.Doc, each its own transaction. */
function makeUpdates (n, seed = 7) {
  const doc = new Y.Doc()
  const updates = []
  doc.on('update', (u) => updates.push(u))
  const rand = rng(seed)
  const arr = doc.getArray('markers')
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) arr.push([`m${i}`])
    else randomEdit(doc.getText('t'), rand, 'r')
  }
  return { doc, updates }
}

test('edits survive SIGTERM and restart', { timeout: 90000 }, async () => {
  const { dir, cleanup } = persistentDir()
  let server = await startServer({ dataDir: dir })
  const room = roomName('restart')
  const other = roomName('restart-other')
  let a, b
  try {
    a = await connectProvider(server, room)
    b = await connectProvider(server, other)
    const rand = rng(42)
    for (let i = 0; i < 100; i++) randomEdit(a.doc.getText('t'), rand, 'p')
    a.doc.getMap('m').set('done', true)
    b.doc.getText('t').insert(0, 'other room')
    const expected = a.text()
    // The server relays only what it stored; wait until GET shows it all.
    await waitStored(server, room, a.doc)
    await waitStored(server, other, b.doc)
    destroyAll(a, b); a = b = null

    const st = await server.stop()
    assert.equal(st.code, 0, 'SIGTERM → exit code 0')
    server = await startServer({ dataDir: dir })

    const fresh = await connectProvider(server, room)
    try {
      await waitFor(() => fresh.text() === expected, { timeout: 10000, message: () => `fresh client after restart (len ${fresh.text().length}, want ${expected.length})` })
      assert.equal(fresh.doc.getMap('m').get('done'), true)
    } finally {
      fresh.destroy()
    }
    assert.equal((await fetchDoc(server, other)).getText('t').toString(), 'other room')
    assert.equal((await fetchDoc(server, room)).getText('t').toString(), expected)
  } finally {
    destroyAll(a, b)
    await server.stop()
    cleanup()
  }
})

test('SIGTERM right after a burst: every update the server received is stored', { timeout: 90000 }, async () => {
  const { dir, cleanup } = persistentDir()
  let server = await startServer({ dataDir: dir })
  const room = roomName('burst')
  const N = 300
  try {
    const { doc, updates } = makeUpdates(N)
    const raw = await openRaw(server, room)
    await raw.next() // server's step 1
    for (const u of updates) raw.send(encUpdate(u))
    // A step 1 after the burst: its step 2 reply proves the server has read
    // (received) every update sent before it on this connection, whether or not
    // they are committed yet. (The step 2 itself may lag behind the commit queue.)
    raw.send(encSyncStep1(new Uint8Array([0])))
    const reply = decodeMessage(await raw.nextMatching((m) => m[0] === MSG_SYNC && m[1] === SYNC_STEP2, 15000, 'sync step 2 after the burst'))
    const seen = new Y.Doc()
    Y.applyUpdate(seen, reply.payload)
    const seenMarkers = seen.getArray('markers').length

    // SIGTERM at once. The client must be told "going away".
    const closed = raw.closed
    const st = await server.stop()
    assert.equal(st.code, 0)
    const info = await withDeadline(closed, 5000, 'raw client close after SIGTERM')
    assert.equal(info.code, 1001, `close code on shutdown (got ${info.code} "${info.reason}")`)

    server = await startServer({ dataDir: dir })
    const stored = await fetchDoc(server, room)
    const storedMarkers = stored.getArray('markers').length
    assert.ok(storedMarkers >= seenMarkers, `lost content the server had served: step 2 had ${seenMarkers} markers, stored ${storedMarkers}`)
    assert.deepEqual(stored.getArray('markers').toJSON(), doc.getArray('markers').toJSON(),
      `all ${N / 2} markers stored (stored ${storedMarkers}; the pre-SIGTERM step 2 showed ${seenMarkers})`)
    assert.equal(stored.getText('t').toString(), doc.getText('t').toString())
    assert.deepEqual(Y.decodeStateVector(Y.encodeStateVector(stored)), Y.decodeStateVector(Y.encodeStateVector(doc)))
  } finally {
    await server.stop()
    cleanup()
  }
})

test('SIGTERM during an unacknowledged burst keeps a consistent prefix', { timeout: 90000 }, async () => {
  // Without waiting for any reply, the server may not have read the tail of the
  // burst when SIGTERM arrives. What it stored must be a prefix of the burst in
  // order (no gap, no corruption), and a restarted server must serve it.
  const { dir, cleanup } = persistentDir()
  let server = await startServer({ dataDir: dir })
  const room = roomName('burst2')
  const N = 300
  try {
    const { updates } = makeUpdates(N, 9)
    const raw = await openRaw(server, room)
    await raw.next()
    for (const u of updates) raw.send(encUpdate(u))
    await waitFor(() => raw.ws.bufferedAmount === 0, { timeout: 5000, message: 'burst handed to the kernel' })
    const st = await server.stop()
    assert.equal(st.code, 0)

    server = await startServer({ dataDir: dir })
    const stored = await fetchDoc(server, room)
    const markers = stored.getArray('markers').toJSON()
    const k = markers.length
    assert.deepEqual(markers, Array.from({ length: k }, (_, i) => `m${2 * i}`), 'stored markers are a gap-free prefix')
    // The stored state equals the first m updates applied, for some m. (Several
    // m share a state vector when an update only deletes, so compare the state
    // for every m whose state vector matches.)
    const ref = new Y.Doc()
    const storedSv = Buffer.from(Y.encodeStateVector(stored))
    let m = 0
    let found = false
    for (; m <= updates.length; m++) {
      if (Buffer.compare(Buffer.from(Y.encodeStateVector(ref)), storedSv) === 0 &&
          sameState(ref, stored) && ref.getText('t').toString() === stored.getText('t').toString()) {
        found = true
        break
      }
      if (m < updates.length) Y.applyUpdate(ref, updates[m])
    }
    assert.ok(found, `stored state equals a prefix of the burst (stored ${describeState(stored)})`)
    // Reported for the log: how much of the burst made it.
    console.log(`# burst prefix stored: ${m}/${updates.length} updates`)
  } finally {
    await server.stop()
    cleanup()
  }
})

test('compaction (--compact-after 20) keeps the content across restarts', { timeout: 120000 }, async () => {
  const { dir, cleanup } = persistentDir()
  const args = ['--compact-after', '20']
  let server = await startServer({ dataDir: dir, args })
  const room = roomName('compact')
  let a
  try {
    a = await connectProvider(server, room)
    const rand = rng(2024)
    const text = a.doc.getText('t')
    for (let i = 0; i < 200; i++) {
      randomEdit(text, rand, 'c')
      if (i % 10 === 0) a.doc.getArray('log').push([i])
    }
    const expected = a.text()
    await waitStored(server, room, a.doc, 20000)
    // More edits after a restart land on top of the compacted snapshot.
    a.destroy(); a = null
    await server.stop()
    server = await startServer({ dataDir: dir, args })
    let stored = await fetchDoc(server, room)
    assert.equal(stored.getText('t').toString(), expected, 'content after first restart')
    assert.deepEqual(stored.getArray('log').toJSON(), Array.from({ length: 20 }, (_, i) => i * 10))

    const b = await connectProvider(server, room)
    try {
      await waitFor(() => b.text() === expected, { message: 'fresh client after restart' })
      for (let i = 0; i < 30; i++) b.doc.getText('t').insert(0, `${i % 10}`)
      const expected2 = b.text()
      await waitStored(server, room, b.doc, 20000)
      b.destroy()
      await server.stop()
      server = await startServer({ dataDir: dir, args })
      stored = await fetchDoc(server, room)
      assert.equal(stored.getText('t').toString(), expected2, 'content after second restart')
      const raw = await fetchDocUpdate(server, room)
      assert.ok(raw.length > 0)
    } finally {
      b.destroy()
    }
  } finally {
    if (a) a.destroy()
    await server.stop()
    cleanup()
  }
})
