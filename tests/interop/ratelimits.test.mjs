// Per-address and per-connection limits (docs/operations.md, "Limits"):
// --max-connections-per-ip, --connect-rate-per-ip, --room-opens-per-ip (429
// before the upgrade), --message-rate (close 1008 "rate limit") and
// --byte-rate (close 1008 "byte rate limit").
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

// Starts a server with `args` and runs `body({ server, open, provider })`, then
// always cleans up: the raw clients the test put in `open` are terminated, the
// providers it made with `provider(room, opts)` (connectProvider on this
// server) are destroyed, and the server is stopped.
async function withServer (args, body) {
  const server = await startServer({ args })
  const open = []
  const providers = []
  const provider = async (room, opts) => {
    const p = await connectProvider(server, room, opts)
    providers.push(p)
    return p
  }
  try {
    await body({ server, open, provider })
  } finally {
    for (const c of open) c.terminate()
    destroyAll(providers)
    await server.stop()
  }
}

// Makes a WebSocket handshake from 127.0.0.1 on each of `paths`, each expected
// to be refused before the upgrade: status 429, a body matching `reason` and,
// if `retryMin` is given, a Retry-After of at least `retryMin` (and at most
// `retryMax` seconds, the refill interval, if given). With `allowRefill`, a
// 101 (a token earned on a very slow run; the caller checks how many) is passed
// over. `what(i)` names the i-th handshake in failure messages. Returns how
// many were refused.
async function expectRefused (server, paths, { reason, what, allowRefill = false, retryMin, retryMax }) {
  let refused = 0
  for (const [i, path] of paths.entries()) {
    const r = await rawGet(server, path, wsHeaders())
    if (allowRefill && r.status === 101) continue // checked by the caller
    assert.equal(r.status, 429, `${what(i)} (body ${JSON.stringify(r.body)})`)
    assert.match(r.body, reason)
    if (retryMin !== undefined) {
      const retry = Number(r.headers['retry-after'])
      assert.ok(retry >= retryMin && (retryMax === undefined || retry <= retryMax),
        `Retry-After ${r.headers['retry-after']}` + (retryMax === undefined ? '' : ` (a token every ${retryMax} s)`))
    }
    refused++
  }
  return refused
}

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

// Writes all of `msgs` from `flooder` at once; it must be closed with 1008
// `reason`, counted once in the metric `closes`. Returns when the writing began.
async function floodClosed (server, flooder, msgs, reason, closes) {
  const t0 = Date.now()
  for (const m of msgs) flooder.send(m)
  const info = await withDeadline(flooder.closed, 15000, 'the flooder to be closed')
  assert.equal(info.code, 1008, `close code (reason "${info.reason}")`)
  assert.equal(info.reason, reason)
  assert.equal(await metric(server, closes), 1)
  return t0
}

// Refills that a slow run could have earned: one per `everyMs` since `t0`.
const refills = (t0, everyMs) => Math.floor((Date.now() - t0) / everyMs)

test('--max-connections-per-ip: over the cap a handshake gets 429 before the upgrade; open connections and other addresses carry on; nothing opened', { timeout: 60000 }, () =>
  withServer(['--max-connections-per-ip', '3'], async ({ server, open, provider }) => {
    const room = roomName('ipcap')
    const refusedRoom = roomName('ipcap-refused')
    for (let i = 0; i < 3; i++) open.push(await join(server, room))
    const roomsBefore = await metric(server, 'quire_rooms')
    assert.equal(roomsBefore, 1)
    await expectRefused(server, Array(3).fill(`/ws/${refusedRoom}`), {
      reason: /too many connections from this address/, what: (i) => `handshake ${i + 4} from 127.0.0.1`
    })
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
    const bystander = await provider(room, { WebSocketPolyfill: webSocketFrom(OTHER) })
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
  }))

test('--connect-rate-per-ip: handshakes past the burst get 429 with Retry-After; open connections and other addresses carry on; nothing opened', { timeout: 60000 }, () =>
  withServer(['--connect-rate-per-ip', '3'], async ({ server, open, provider }) => { // 3 at once, then 1 per 20 s
    const room = roomName('iprate')
    const refusedRoom = roomName('iprate-refused')
    const t0 = Date.now()
    for (let i = 0; i < 3; i++) open.push(await join(server, room))
    const roomsBefore = await metric(server, 'quire_rooms')
    const attempts = 4
    const refused = await expectRefused(server, Array(attempts).fill(`/ws/${refusedRoom}`), {
      reason: /too many new connections from this address/,
      what: (i) => `handshake ${i + 4}`,
      allowRefill: true,
      retryMin: 1,
      retryMax: 20
    })
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
    const bystander = await provider(room, { WebSocketPolyfill: webSocketFrom(OTHER) })
    assert.equal(bystander.text(), 'kept')
    await waitStored(server, room, bystander.doc)
    assert.deepEqual(bystander.closes, [])
  }))

test('--room-opens-per-ip: loading a document past the budget gets 429; joining an open one is free; other addresses carry on; nothing opened', { timeout: 60000 }, () =>
  withServer(['--room-opens-per-ip', '3'], async ({ server, open, provider }) => { // 3 at once, then 1 per 20 s
    const rooms = [0, 1, 2].map((i) => roomName(`iproom${i}`))
    const refusedRooms = [0, 1, 2, 3].map((i) => roomName(`iproom-refused${i}`))
    const t0 = Date.now()
    for (const r of rooms) open.push(await join(server, r))
    const refused = await expectRefused(server, refusedRooms.map((r) => `/ws/${r}`), {
      reason: /too many documents opened from this address/,
      what: () => 'handshake for a 4th document',
      allowRefill: true,
      retryMin: 1
    })
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
    const bystander = await provider(fresh, { WebSocketPolyfill: webSocketFrom(OTHER) })
    bystander.doc.getText('t').insert(0, 'other address')
    await waitStored(server, fresh, bystander.doc)
    assert.deepEqual(bystander.closes, [])
    if (earned === 0) assert.equal(await metric(server, 'quire_rooms'), 4)
    assert.equal((await fetchDoc(server, rooms[0])).getText('t').toString(), 'kept')
  }))

test('--message-rate: an awareness flood is closed with 1008 "rate limit"; what followed it is not stored; the room carries on', { timeout: 60000 }, () => {
  const RATE = 5 // per second, bursts of 4 × 5 = 20 messages
  const BURST = 4 * RATE
  const FLOOD = 200
  return withServer(['--message-rate', String(RATE)], async ({ server, provider }) => {
    const room = roomName('msgrate')
    const bystander = await provider(room)
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
    const t0 = await floodClosed(server, flooder, msgs, 'rate limit', 'quire_rate_limited_closes_total')

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
    const late = await provider(room)
    assert.equal(late.text(), 'kept!')
    assert.deepEqual(bystander.closes, [])
  })
})

test('--byte-rate: a connection sending updates past its byte budget is closed with 1008 "byte rate limit"; what followed is not stored; the room carries on', { timeout: 60000 }, () => {
  // --byte-rate 10K: a budget of 4 × 10 KiB (more than one --max-message of
  // 16 KiB) refilled at 10 KiB a second; 20 updates of ~8 KB at once are
  // about four times the budget
  const RATE = 10 * 1024
  const BUDGET = 4 * RATE
  const SIZE = 8000
  const FLOOD = 20
  return withServer(['--byte-rate', '10K', '--max-message', '16K'], async ({ server, provider }) => {
    const room = roomName('byterate')
    const bystander = await provider(room)
    bystander.doc.getText('t').insert(0, 'kept')
    await waitStored(server, room, bystander.doc)

    const flooder = await join(server, room)
    const msgs = []
    for (let i = 0; i < FLOOD; i++) msgs.push(encUpdate(textUpdate(`<${i}>` + 'x'.repeat(SIZE), 900 + i)))
    msgs.push(encUpdate(textUpdate('LAST', 999)))
    const t0 = await floodClosed(server, flooder, msgs, 'byte rate limit', 'quire_byte_rate_closes_total')

    // at most the budget (plus what a slow run refilled) of the flood was
    // stored, and nothing sent after the limit
    const stored = (await fetchDoc(server, room)).getText('t').toString()
    const n = (stored.match(/<\d+>/g) || []).length
    const allowed = Math.floor((BUDGET + RATE * (Date.now() - t0) / 1000) / SIZE) + 1
    assert.ok(n < FLOOD && n <= allowed, `${n} of ${FLOOD} flood updates stored (allowed ${allowed})`)
    assert.ok(!stored.includes('LAST'), 'the update after the limit was not stored')
    assert.deepEqual(bystander.closes, [])

    // the room carries on: an edit is stored and a newcomer gets it. The
    // bystander first waits for the relayed flood updates: an insert at 0 made
    // before one arrives is concurrent with it and YATA may order it after
    // (flood client ids are lower), so the '!' would not be first
    await waitFor(() => bystander.text() === stored, { message: () => `the bystander to see the stored text (it has ${bystander.text().length} chars, stored ${stored.length})` })
    bystander.doc.getText('t').insert(0, '!')
    await waitStored(server, room, bystander.doc)
    const late = await provider(room)
    assert.equal(late.text(), bystander.text())
    assert.ok(late.text().startsWith('!'), 'the edit after the flood')
    assert.deepEqual(bystander.closes, [])
  })
})

test('--message-rate counts pings: a ping flood is closed with 1008 "rate limit"; the room carries on', { timeout: 60000 }, () =>
  withServer(['--message-rate', '5'], async ({ server, open, provider }) => {
    const room = roomName('pingflood')
    const bystander = await provider(room)
    const flooder = await join(server, room)
    open.push(flooder)
    for (let i = 0; i < 500; i++) flooder.ws.ping()
    const info = await withDeadline(flooder.closed, 15000, 'the ping flooder to be closed')
    assert.deepEqual(info, { code: 1008, reason: 'rate limit' })
    assert.equal(await metric(server, 'quire_rate_limited_closes_total'), 1)
    bystander.doc.getText('t').insert(0, 'still here')
    await waitStored(server, room, bystander.doc)
    assert.deepEqual(bystander.closes, [])
  }))
