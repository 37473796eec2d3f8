// Per-address and per-connection limits (docs/operations.md, "Limits"):
// --max-connections-per-ip, --connect-rate-per-ip, --room-opens-per-ip (429
// before the upgrade) and --message-rate (close 1008 "rate limit").
//
// Every test sets its limit small, makes one client address (127.0.0.1) go
// past it and checks three things: the offender is refused or closed with the
// documented status or code; a bystander (connections already open, and a
// client from a second loopback address, 127.0.0.2) carries on; nothing is
// opened or stored for what was refused.
//
// No timing thresholds: the rate limits refill slowly (one token every 20 s for
// the per-minute limits at 3, 5 messages per second for --message-rate 5) and
// each test counts; where a very slow machine could earn a refill during the
// test, the allowance is computed from the elapsed time instead of assumed 0.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startServer } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import {
  Y, awarenessProtocol, connectProvider, decodeMessage, destroyAll, encAwareness, encUpdate, fetchDoc,
  fetchDocUpdate, openRaw, rawGet, roomName, waitFor, waitStored, webSocketFrom, withDeadline, wsHeaders,
  MSG_SYNC, SYNC_UPDATE
} from './lib/yclient.mjs'

const OTHER = '127.0.0.2' // a second client address on the loopback interface

// Opens a raw client and reads the server's sync step 1 (the room is joined).
async function join (server, room) {
  const c = await openRaw(server, room)
  await c.next()
  return c
}

// One update inserting `s` at the start of text 't', from a fresh client.
function textUpdate (s, clientID) {
  const d = new Y.Doc()
  d.clientID = clientID
  d.getText('t').insert(0, s)
  return Y.encodeStateAsUpdate(d)
}

// Sends an update from `from`; `to` must receive it relayed.
async function relayed (from, to, s, clientID) {
  from.send(encUpdate(textUpdate(s, clientID)))
  await to.nextMatching((m) => {
    const d = decodeMessage(m)
    return d.type === MSG_SYNC && d.syncType === SYNC_UPDATE
  }, 10000, `the update "${s}" relayed`)
}

// Refills that a slow run could have earned: one per `everyMs` since `t0`.
const refills = (t0, everyMs) => Math.floor((Date.now() - t0) / everyMs)

test('--max-connections-per-ip: over the cap a handshake gets 429 before the upgrade; open connections and other addresses carry on; nothing opened', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-connections-per-ip', '3'] })
  const room = roomName('ipcap')
  const refusedRoom = roomName('ipcap-refused')
  const open = []
  let bystander
  try {
    for (let i = 0; i < 3; i++) open.push(await join(server, room))
    const roomsBefore = await metric(server, 'quire_rooms')
    assert.equal(roomsBefore, 1)
    for (let i = 0; i < 3; i++) {
      const r = await rawGet(server, `/ws/${refusedRoom}`, wsHeaders())
      assert.equal(r.status, 429, `handshake ${i + 4} from 127.0.0.1 (body ${JSON.stringify(r.body)})`)
      assert.match(r.body, /too many connections from this address/)
    }
    assert.equal(await metric(server, 'quire_ip_refused_total', 'limit="connections"'), 3)
    // nothing was opened or stored for the refused handshakes
    assert.equal(await metric(server, 'quire_rooms'), roomsBefore)
    assert.equal(await fetchDocUpdate(server, refusedRoom), null)

    // the three open connections carry on: an update is relayed and stored
    await relayed(open[0], open[1], 'kept', 1001)
    assert.equal(open.filter((c) => c.closeInfo).length, 0, 'no open connection was closed')
    const stored = await fetchDoc(server, room)
    assert.equal(stored.getText('t').toString(), 'kept')

    // another address is not affected: a real provider from 127.0.0.2 syncs
    bystander = await connectProvider(server, room, { WebSocketPolyfill: webSocketFrom(OTHER) })
    assert.equal(bystander.text(), 'kept')
    assert.equal(await metric(server, 'quire_connections'), 4)

    // a closed connection gives its place back
    open.pop().close()
    const again = await waitFor(async () => {
      try { return await join(server, room) } catch (e) { if (e.status === 429) return null; throw e }
    }, { timeout: 10000, interval: 50, message: 'a fourth connection from 127.0.0.1 after one closed' })
    open.push(again)
    assert.equal((await rawGet(server, `/ws/${refusedRoom}`, wsHeaders())).status, 429, 'the cap holds again')
    assert.equal(await fetchDocUpdate(server, refusedRoom), null)
    assert.deepEqual(bystander.closes, [], 'the bystander was never disconnected')
  } finally {
    for (const c of open) c.terminate()
    destroyAll(bystander)
    await server.stop()
  }
})

test('--connect-rate-per-ip: handshakes past the burst get 429 with Retry-After; open connections and other addresses carry on; nothing opened', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--connect-rate-per-ip', '3'] }) // 3 at once, then 1 per 20 s
  const room = roomName('iprate')
  const refusedRoom = roomName('iprate-refused')
  const open = []
  let bystander
  try {
    const t0 = Date.now()
    for (let i = 0; i < 3; i++) open.push(await join(server, room))
    const roomsBefore = await metric(server, 'quire_rooms')
    let refused = 0
    const attempts = 4
    for (let i = 0; i < attempts; i++) {
      const r = await rawGet(server, `/ws/${refusedRoom}`, wsHeaders())
      if (r.status === 101) continue // a refill earned on a very slow run (checked below)
      assert.equal(r.status, 429, `handshake ${i + 4} (body ${JSON.stringify(r.body)})`)
      assert.match(r.body, /too many new connections from this address/)
      const retry = Number(r.headers['retry-after'])
      assert.ok(retry >= 1 && retry <= 20, `Retry-After ${r.headers['retry-after']} (a token every 20 s)`)
      refused++
    }
    const earned = refills(t0, 20000)
    assert.ok(refused >= attempts - earned, `${refused} of ${attempts} handshakes over the burst refused (refills earned: ${earned})`)
    if (earned === 0) {
      assert.equal(await metric(server, 'quire_ip_refused_total', 'limit="connect_rate"'), attempts)
      // nothing was opened or stored for the refused handshakes
      assert.equal(await metric(server, 'quire_rooms'), roomsBefore)
      assert.equal(await fetchDocUpdate(server, refusedRoom), null)
    }
    // the connections it made carry on
    await relayed(open[2], open[0], 'kept', 1002)
    assert.equal(open.filter((c) => c.closeInfo).length, 0, 'no open connection was closed')
    // another address has its own budget
    bystander = await connectProvider(server, room, { WebSocketPolyfill: webSocketFrom(OTHER) })
    assert.equal(bystander.text(), 'kept')
    await waitStored(server, room, bystander.doc)
    assert.deepEqual(bystander.closes, [])
  } finally {
    for (const c of open) c.terminate()
    destroyAll(bystander)
    await server.stop()
  }
})

test('--room-opens-per-ip: loading a document past the budget gets 429; joining an open one is free; other addresses carry on; nothing opened', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--room-opens-per-ip', '3'] }) // 3 at once, then 1 per 20 s
  const rooms = [0, 1, 2].map((i) => roomName(`iproom${i}`))
  const refusedRooms = [0, 1, 2, 3].map((i) => roomName(`iproom-refused${i}`))
  const open = []
  let bystander
  try {
    const t0 = Date.now()
    for (const r of rooms) open.push(await join(server, r))
    let refused = 0
    for (const r of refusedRooms) {
      const res = await rawGet(server, `/ws/${r}`, wsHeaders())
      if (res.status === 101) continue // a refill earned on a very slow run (checked below)
      assert.equal(res.status, 429, `handshake for a 4th document (body ${JSON.stringify(res.body)})`)
      assert.match(res.body, /too many documents opened from this address/)
      assert.ok(Number(res.headers['retry-after']) >= 1, `Retry-After ${res.headers['retry-after']}`)
      refused++
    }
    const earned = refills(t0, 20000)
    assert.ok(refused >= refusedRooms.length - earned, `${refused} of ${refusedRooms.length} new documents refused (refills earned: ${earned})`)
    if (earned === 0) {
      assert.equal(await metric(server, 'quire_ip_refused_total', 'limit="room_opens"'), refusedRooms.length)
      assert.equal(await metric(server, 'quire_rooms'), 3, 'no room was loaded for a refused handshake')
      for (const r of refusedRooms) assert.equal(await fetchDocUpdate(server, r), null, `${r} stored nothing`)
    }
    // a document already open costs nothing: a second connection to rooms[0]
    const second = await join(server, rooms[0])
    open.push(second)
    await relayed(open[0], second, 'kept', 1003)
    assert.equal(open.filter((c) => c.closeInfo).length, 0, 'no open connection was closed')
    // another address loads a new document
    const fresh = roomName('iproom-other')
    bystander = await connectProvider(server, fresh, { WebSocketPolyfill: webSocketFrom(OTHER) })
    bystander.doc.getText('t').insert(0, 'other address')
    await waitStored(server, fresh, bystander.doc)
    assert.deepEqual(bystander.closes, [])
    if (earned === 0) assert.equal(await metric(server, 'quire_rooms'), 4)
    assert.equal((await fetchDoc(server, rooms[0])).getText('t').toString(), 'kept')
  } finally {
    for (const c of open) c.terminate()
    destroyAll(bystander)
    await server.stop()
  }
})

test('--message-rate: an awareness flood is closed with 1008 "rate limit"; what followed it is not stored; the room carries on', { timeout: 60000 }, async () => {
  const RATE = 5 // per second, bursts of 4 × 5 = 20 messages
  const BURST = 4 * RATE
  const FLOOD = 200
  const server = await startServer({ args: ['--message-rate', String(RATE)] })
  const room = roomName('msgrate')
  let bystander, late
  try {
    bystander = await connectProvider(server, room)
    bystander.doc.getText('t').insert(0, 'kept')
    await waitStored(server, room, bystander.doc)
    const seenClocks = []
    bystander.awareness.on('update', ({ added, updated }) => {
      for (const id of [...added, ...updated]) {
        if (id === 777) seenClocks.push(bystander.awareness.meta.get(777).clock)
      }
    })

    // 200 awareness updates for client 777 (clocks 1..200), then a document
    // update: all written at once, far past a burst of 20
    const flooder = await join(server, room)
    const d = new Y.Doc()
    d.clientID = 777
    const aw = new awarenessProtocol.Awareness(d)
    const msgs = []
    for (let i = 1; i <= FLOOD; i++) {
      aw.setLocalState({ n: i })
      msgs.push(encAwareness(awarenessProtocol.encodeAwarenessUpdate(aw, [777])))
    }
    aw.destroy()
    msgs.push(encUpdate(textUpdate('FLOOD', 778)))
    const t0 = Date.now()
    for (const m of msgs) flooder.send(m)
    const info = await withDeadline(flooder.closed, 15000, 'the flooder to be closed')
    assert.equal(info.code, 1008, `close code (reason "${info.reason}")`)
    assert.equal(info.reason, 'rate limit')
    assert.equal(await metric(server, 'quire_rate_limited_closes_total'), 1)

    // the bystander was never disconnected (y-websocket sent each of the
    // flooder's accepted states back: echoes, which cost nothing) and saw at
    // most the burst (plus what a slow run refilled) of the flood; the
    // flooder's presence is gone
    await waitFor(() => !bystander.awareness.getStates().has(777), { message: 'client 777 removed after the close' })
    const allowed = BURST + refills(t0, 1000 / RATE) + 1
    const maxClock = Math.max(0, ...seenClocks)
    assert.ok(maxClock <= allowed && maxClock < FLOOD, `bystander saw presence clocks up to ${maxClock} (allowed ${allowed})`)
    assert.deepEqual(bystander.closes, [])

    // the update sent after the limit was never stored or relayed
    assert.equal((await fetchDoc(server, room)).getText('t').toString(), 'kept')
    assert.equal(bystander.text(), 'kept')

    // the room carries on: an edit is stored and a newcomer gets it
    bystander.doc.getText('t').insert(4, '!')
    await waitStored(server, room, bystander.doc)
    late = await connectProvider(server, room)
    assert.equal(late.text(), 'kept!')
    assert.deepEqual(bystander.closes, [])
  } finally {
    destroyAll(bystander, late)
    await server.stop()
  }
})
