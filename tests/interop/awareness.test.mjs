// Awareness (presence): relay, initial states on connect, query-awareness and
// removal when a connection goes away (cleanly or abruptly).
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServer } from './lib/server.mjs'
import {
  Y, awarenessProtocol, connectProvider, destroyAll, openRaw, waitFor, roomName,
  decodeMessage, encAwareness, MSG_AWARENESS, hex, encoding, withDeadline, sleep
} from './lib/yclient.mjs'
import { metric } from './lib/metrics.mjs'

const USER_A = { user: { name: 'a' } }

/** Does a raw message carry an awareness entry for `client` with `state`? */
function hasEntry (msg, client, state) {
  if (typeof msg === 'string' || msg[0] !== MSG_AWARENESS) return false
  const m = decodeMessage(msg)
  return m.awareness.some((e) => e.client === client && JSON.stringify(e.state) === JSON.stringify(state))
}

describe('awareness', () => {
  let server
  before(async () => { server = await startServer() })
  after(async () => { await server.stop() })

  test('states are relayed, sent on connect, and removed when a provider leaves', { timeout: 30000 }, async () => {
    const room = roomName('aw')
    const a = await connectProvider(server, room)
    const b = await connectProvider(server, room)
    let raw
    try {
      const idA = a.doc.clientID
      a.awareness.setLocalState(USER_A)
      await waitFor(() => JSON.stringify(b.awareness.getStates().get(idA)) === JSON.stringify(USER_A),
        { message: () => `B to see A's state (B knows ${JSON.stringify([...b.awareness.getStates()])})` })

      // A client connecting now gets the known states right after step 1.
      raw = await openRaw(server, room)
      await raw.nextMatching((m) => hasEntry(m, idA, USER_A), 5000, 'awareness with A\'s state on connect')

      // A leaves cleanly → B drops A's state.
      a.destroy()
      await waitFor(() => !b.awareness.getStates().has(idA), { timeout: 5000, message: 'B to drop A\'s state after A left' })
      await raw.nextMatching((m) => hasEntry(m, idA, null), 5000, 'removal (null) for A')
    } finally {
      if (raw) raw.close()
      destroyAll(a, b)
    }
  })

  test('an abruptly closed connection\'s states are removed by the server', { timeout: 30000 }, async () => {
    const room = roomName('aw-abrupt')
    const b = await connectProvider(server, room)
    const raw = await openRaw(server, room)
    try {
      // The raw client announces presence for its own client ID (clock 1, like a provider).
      const ghostDoc = new Y.Doc()
      const ghost = new awarenessProtocol.Awareness(ghostDoc)
      ghost.setLocalState({ user: { name: 'ghost' } })
      const id = ghostDoc.clientID
      raw.send(encAwareness(awarenessProtocol.encodeAwarenessUpdate(ghost, [id])))
      await waitFor(() => b.awareness.getStates().get(id)?.user?.name === 'ghost', { message: 'B to see the raw client\'s state' })
      // The sender gets its own state echoed back too.
      await raw.nextMatching((m) => hasEntry(m, id, { user: { name: 'ghost' } }), 5000, 'awareness echo to the sender')
      ghost.destroy(); ghostDoc.destroy()

      // No goodbye: drop the TCP connection. Only the server can tell B.
      const t0 = Date.now()
      raw.terminate()
      await waitFor(() => !b.awareness.getStates().has(id), { timeout: 5000, interval: 20, message: 'B to see the ghost removed within 5 s of the abrupt close' })
      const ms = Date.now() - t0
      assert.ok(ms < 5000, `removal took ${ms} ms`)
      assert.deepEqual(b.closes, [], 'B stayed connected')
    } finally {
      raw.terminate()
      b.destroy()
    }
  })

  test('query-awareness (03) is answered with all states', { timeout: 30000 }, async () => {
    const room = roomName('aw-query')
    const a = await connectProvider(server, room)
    const c = await connectProvider(server, room)
    let raw
    try {
      const idA = a.doc.clientID
      const idC = c.doc.clientID
      a.awareness.setLocalState(USER_A)
      c.awareness.setLocalState({ user: { name: 'c' }, cursor: 7 })
      await waitFor(() => a.awareness.getStates().has(idC) && c.awareness.getStates().has(idA), { message: 'A and C to see each other' })

      raw = await openRaw(server, room)
      await raw.drain(300) // step 1 + the on-connect awareness
      raw.send(new Uint8Array([3]))
      const reply = await raw.nextMatching((m) => typeof m !== 'string' && m[0] === MSG_AWARENESS, 5000, 'awareness reply to 03')
      const entries = decodeMessage(reply).awareness
      const byId = new Map(entries.map((e) => [e.client, e.state]))
      assert.deepEqual(byId.get(idA), USER_A, `A's state in ${hex(reply)}`)
      assert.deepEqual(byId.get(idC), { user: { name: 'c' }, cursor: 7 }, `C's state in ${hex(reply)}`)
    } finally {
      if (raw) raw.close()
      destroyAll(a, c)
    }
  })

  // One awareness update with a single entry whose state is the raw text `state`.
  const rawAwareness = (client, clock, state) => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, state)
    return encAwareness(encoding.toUint8Array(e))
  }

  test('a state that is not JSON is refused (1007) and never reaches the room; what JSON.stringify writes passes', { timeout: 30000 }, async () => {
    const room = roomName('aw-json')
    const b = await connectProvider(server, room)
    const errors = []
    const onError = (e) => errors.push(e)
    process.on('uncaughtException', onError)
    let raw, ok, late
    try {
      const rejected = await metric(server, 'quire_messages_rejected_total', 'reason="malformed"')
      // y-protocols' JSON.parse would throw on each of these in every member
      for (const [i, bad] of ['{"user":', 'undefined', "{'a':1}", '{"a":1} x', '"\\q"', '[1,]'].entries()) {
        raw = await openRaw(server, room)
        raw.send(rawAwareness(9000 + i, 1, bad))
        const info = await withDeadline(raw.closed, 5000, `the close after state ${bad}`)
        assert.equal(info.code, 1007, `state ${bad}: close code (got ${info.code} "${info.reason}")`)
      }
      assert.equal(await metric(server, 'quire_messages_rejected_total', 'reason="malformed"'), rejected + 6)
      // JSON.stringify's output for a name with NUL and a lone surrogate is JSON
      const odd = { user: { name: 'n\u0000l\ud800x' }, n: -0.5e-3, a: [true, false, null, {}] }
      ok = await openRaw(server, room)
      ok.send(rawAwareness(9100, 1, JSON.stringify(odd)))
      await waitFor(() => b.awareness.getStates().get(9100)?.user?.name === odd.user.name, { message: 'B to see the odd but valid state' })
      // a newcomer gets every state at once and parses them all
      late = await connectProvider(server, room)
      await waitFor(() => late.awareness.getStates().has(9100), { message: 'the newcomer to get the states' })
      await sleep(100)
      for (let i = 0; i < 6; i++) assert.ok(!b.awareness.getStates().has(9000 + i) && !late.awareness.getStates().has(9000 + i))
      assert.deepEqual(errors, [], 'no member threw while applying presence')
      assert.deepEqual(b.closes, [])
      assert.equal(ok.closeInfo, null, 'the valid state\'s sender stays connected')
    } finally {
      process.off('uncaughtException', onError)
      if (ok) ok.close()
      destroyAll(b, late)
    }
  })

  test('a null state with JSON whitespace around it removes the client, as JSON.parse reads it', { timeout: 30000 }, async () => {
    const room = roomName('aw-wsnull')
    const raw = await openRaw(server, room)
    let q
    try {
      raw.send(rawAwareness(9200, 1, '{"a":1}'))
      raw.send(rawAwareness(9201, 1, '{"b":2}'))
      raw.send(rawAwareness(9200, 2, ' null\n'))
      await sleep(300)
      q = await openRaw(server, room)
      await q.drain(300)
      q.send(new Uint8Array([3]))
      const reply = await q.nextMatching((m) => typeof m !== 'string' && m[0] === MSG_AWARENESS, 5000, 'awareness reply to 03')
      const ids = decodeMessage(reply).awareness.map((e) => e.client)
      assert.ok(ids.includes(9201), `the other client is still there: ${ids}`)
      assert.ok(!ids.includes(9200), `9200 was removed: ${hex(reply)}`)
    } finally {
      raw.close()
      if (q) q.close()
    }
  })
})
