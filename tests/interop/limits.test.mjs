// Configured limits: environment twins, the slow-consumer cap (1008),
// WebSocket pings, --idle-timeout and --max-connections.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startServer } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import {
  Y, connectProvider, destroyAll, encUpdate, fetchDoc, openRaw, rawClient, waitFor, waitStored, roomName, withDeadline,
  sleep
} from './lib/yclient.mjs'

test('environment twin QUIRE_MAX_MESSAGE applies (70000 bytes → 1009)', { timeout: 30000 }, async () => {
  const server = await startServer({ env: { QUIRE_MAX_MESSAGE: '65536' } })
  try {
    const raw = await openRaw(server, roomName('env'))
    await raw.next()
    const big = new Uint8Array(70000)
    big[0] = 0x00; big[1] = 0x02
    raw.send(big)
    const info = await withDeadline(raw.closed, 5000, 'close after an oversize message')
    assert.equal(info.code, 1009)
  } finally {
    await server.stop()
  }
})

test('a client that stops reading is closed with 1008; the writer is unaffected', { timeout: 90000 }, async () => {
  const server = await startServer({ args: ['--max-queue', '262144'] })
  const room = roomName('slow')
  const slow = await openRaw(server, room)
  let writer
  try {
    await slow.next()
    slow.ws._socket.pause() // stop reading: the kernel buffers fill, then the server's queue
    writer = await connectProvider(server, room)
    const before = await metric(server, 'quire_slow_consumers_closed_total')
    const chunk = 'y'.repeat(100 * 1024)
    const text = writer.doc.getText('t')
    // Up to 48 MB, stopping once the server reports the slow consumer closed.
    let sent = 0
    for (let i = 0; i < 480; i++) {
      text.insert(text.length, chunk)
      sent++
      if (i % 10 === 9) {
        await sleep(20)
        const now = await metric(server, 'quire_slow_consumers_closed_total')
        if (now !== null && before !== null && now > before) break
      }
    }
    // The slow client, once it reads again, finds a 1008 close after the backlog.
    slow.ws._socket.resume()
    const info = await withDeadline(slow.closed, 20000, `slow client to be closed (after ${sent} × 100 KB)`)
    assert.equal(info.code, 1008, `close code for a slow consumer (got ${info.code} "${info.reason}")`)
    // The writer never noticed, and everything it wrote is stored.
    assert.deepEqual(writer.closes, [], 'writer was never disconnected')
    await waitStored(server, room, writer.doc, 30000)
  } finally {
    slow.terminate()
    if (writer) writer.destroy()
    await server.stop()
  }
})

test('the server sends WebSocket pings (--ping-interval 1)', { timeout: 30000 }, async () => {
  const server = await startServer({ args: ['--ping-interval', '1'] })
  try {
    const raw = await openRaw(server, roomName('ping'))
    let pings = 0
    raw.ws.on('ping', () => { pings++ })
    await waitFor(() => pings >= 2, { timeout: 6000, message: () => `2 pings within 6 s (got ${pings})` })
    assert.equal(raw.closeInfo, null, 'a client that answers pings stays connected')
    raw.close()
  } finally {
    await server.stop()
  }
})

// A 1.2 MiB update from client 4242 that depends on (4242, 0), which nobody
// sends: it can only wait as pending.
function orphanUpdate () {
  const src = new Y.Doc(); src.clientID = 4242
  src.getText('t').insert(0, 'x')
  const before = Y.encodeStateVector(src)
  src.getText('t').insert(1, 'y'.repeat(1200 * 1024))
  return Y.encodeStateAsUpdate(src, before)
}

// A raw client joins `room`, sends `update` and must be closed with 1008 `reason`.
async function sendClosed (server, room, update, reason) {
  const raw = await openRaw(server, room)
  await raw.next()
  raw.send(encUpdate(update))
  const info = await withDeadline(raw.closed, 10000, `close with "${reason}"`)
  assert.equal(info.code, 1008, `close code ${info.code} "${info.reason}"`)
  assert.equal(info.reason, reason)
}

test('updates waiting for a missing dependency are bounded (1 MiB): close 1008, nothing lost', { timeout: 60000 }, async () => {
  const server = await startServer()
  const room = roomName('pending')
  let a, b
  try {
    // a bystander with stored content
    a = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'kept')
    await waitStored(server, room, a.doc)

    // an update that depends on a struct nobody sent: it stays pending
    await sendClosed(server, room, orphanUpdate(), 'too many pending updates')

    // the room carries on: stored document unchanged, a newcomer syncs
    server.assertAlive()
    const stored = await fetchDoc(server, room)
    assert.equal(stored.getText('t').toString(), 'kept')
    b = await connectProvider(server, room)
    assert.equal(b.doc.getText('t').toString(), 'kept')
    a.doc.getText('t').insert(4, '!')
    await waitFor(() => b.doc.getText('t').toString() === 'kept!', { message: 'edit relayed after the refusal' })
  } finally {
    destroyAll(a, b)
    await server.stop()
  }
})

test('past the pending bound, what did integrate is stored and relayed; the sender is closed 1008', { timeout: 60000 }, async () => {
  const server = await startServer()
  const room = roomName('pendingpart')
  let a
  try {
    a = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'kept')
    await waitStored(server, room, a.doc)

    // one update: the orphan and a map entry from client 4343 that
    // integrates at once
    const other = new Y.Doc(); other.clientID = 4343
    other.getMap('m').set('k', 'integrated')
    const update = Y.mergeUpdates([orphanUpdate(), Y.encodeStateAsUpdate(other)])
    const rejected = await metric(server, 'quire_messages_rejected_total', 'reason="malformed"')
    await sendClosed(server, room, update, 'too many pending updates')
    assert.equal(await metric(server, 'quire_messages_rejected_total', 'reason="malformed"'), rejected + 1)

    // the map entry reached the bystander and the store; the orphan did not
    await waitFor(() => a.doc.getMap('m').get('k') === 'integrated', { message: 'integrated part relayed' })
    assert.equal(a.doc.getText('t').toString(), 'kept')
    const stored = await waitStored(server, room, a.doc)
    assert.equal(stored.getMap('m').get('k'), 'integrated')
    assert.equal(stored.getText('t').toString(), 'kept')
    server.assertAlive()
  } finally {
    destroyAll(a)
    await server.stop()
  }
})

// A value nested 64 deep (arrays or objects in a Y.Map) is what the crdt
// library accepts (docs/crdt.md); Yjs itself writes any depth.
function nested (depth) {
  let v = 'leaf'
  for (let i = 0; i < depth; i++) v = i % 2 ? { d: v } : [v]
  return v
}

test('an update past a crdt limit (a value nested 65 deep) closes 1008 "update exceeds a limit"; nothing stored or relayed', { timeout: 60000 }, async () => {
  const server = await startServer()
  const room = roomName('deep')
  let a, b
  try {
    a = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'kept')
    await waitStored(server, room, a.doc)

    // made by a real Yjs writer: 64 deep is accepted and relayed ...
    const ok = new Y.Doc(); ok.clientID = 5151
    ok.getMap('m').set('ok', nested(64))
    const raw1 = await openRaw(server, room)
    await raw1.next()
    raw1.send(encUpdate(Y.encodeStateAsUpdate(ok)))
    await waitFor(() => a.doc.getMap('m').has('ok'), { message: 'a 64-deep value relayed' })
    assert.deepEqual(a.doc.getMap('m').get('ok'), nested(64))
    assert.equal(raw1.closeInfo, null, 'the 64-deep sender stays connected')
    raw1.close()
    await waitStored(server, room, a.doc)

    // ... 65 deep is refused whole, with the text edit that came with it
    const deep = new Y.Doc(); deep.clientID = 5252
    deep.getMap('m').set('deep', nested(65))
    deep.getText('t').insert(0, 'lost ')
    const rejected = await metric(server, 'quire_messages_rejected_total', 'reason="malformed"')
    await sendClosed(server, room, Y.encodeStateAsUpdate(deep), 'update exceeds a limit')
    assert.equal(await metric(server, 'quire_messages_rejected_total', 'reason="malformed"'), rejected + 1)

    // the bystander carries on; a later edit arrives, the refused one never does
    server.assertAlive()
    b = await connectProvider(server, room)
    b.doc.getText('t').insert(4, '!')
    await waitFor(() => a.doc.getText('t').toString() === 'kept!', { message: 'edit relayed after the refusal' })
    assert.equal(a.doc.getMap('m').has('deep'), false)
    assert.equal(b.doc.getMap('m').has('deep'), false)
    assert.deepEqual(b.doc.getMap('m').get('ok'), nested(64))
    const stored = await waitStored(server, room, a.doc)
    assert.equal(stored.getText('t').toString(), 'kept!')
    assert.equal(stored.getMap('m').has('deep'), false)
    assert.deepEqual(a.closes, [], 'the bystander was never disconnected')
  } finally {
    destroyAll(a, b)
    await server.stop()
  }
})

test('--idle-timeout 2: a peer silent for 2 s is closed with 1001 "idle timeout"; one that talks stays', { timeout: 30000 }, async () => {
  const server = await startServer({ args: ['--idle-timeout', '2'] })
  try {
    const silent = await openRaw(server, roomName('idle'))
    const talker = await openRaw(server, roomName('idle'))
    const t0 = Date.now()
    const keep = setInterval(() => talker.send(new Uint8Array([3])), 500) // query awareness
    try {
      const info = await withDeadline(silent.closed, 10000, 'the silent peer to be closed')
      assert.deepEqual(info, { code: 1001, reason: 'idle timeout' })
      assert.ok(Date.now() - t0 >= 1500, `closed after ${Date.now() - t0} ms`)
      await sleep(1000)
      assert.equal(talker.closeInfo, null, 'the talking peer stays')
    } finally {
      clearInterval(keep)
      talker.close()
    }
  } finally {
    await server.stop()
  }
})

test('--max-connections 3: a fourth handshake gets 503, and once one closes a new one is taken', { timeout: 30000 }, async () => {
  const server = await startServer({ args: ['--max-connections', '3'] })
  const room = roomName('maxconn')
  const open = []
  try {
    for (let i = 0; i < 3; i++) open.push(await openRaw(server, room))
    const fourth = rawClient(server, room)
    const err = await fourth.opened.then(() => null, (e) => e)
    assert.ok(err && err.status === 503, `the fourth handshake: ${err ? err.message : 'opened'}`)
    open.shift().close()
    await waitFor(async () => {
      const c = rawClient(server, room)
      const ok = await c.opened.then(() => true, () => false)
      if (ok) open.push(c)
      return ok
    }, { timeout: 10000, message: 'a handshake to be taken after one closed' })
    for (const c of open) assert.equal(c.closeInfo, null)
  } finally {
    for (const c of open) c.close()
    await server.stop()
  }
})

test('a handshake trickled a byte a second (slowloris) is dropped by the request timeout; the server carries on', { timeout: 60000 }, async () => {
  const server = await startServer()
  const net = await import('node:net')
  const sock = net.connect(server.port, server.host)
  let closed = false
  let timer = null
  try {
    await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
    sock.on('error', () => {})
    const done = new Promise((resolve) => sock.once('close', () => { closed = true; resolve() }))
    sock.write('GET /ws/slow HTTP/1.1\r\nHost: x\r\n')
    let i = 0
    timer = setInterval(() => { if (!closed) sock.write(`X-Slow-${i++}: a\r\n`) }, 1000)
    await withDeadline(done, 40000, 'the trickling connection to be dropped')
    const a = await connectProvider(server, roomName('afterslow'))
    a.destroy()
  } finally {
    clearInterval(timer)
    sock.destroy()
    await server.stop()
  }
})
