// Presence coalescing (--presence-interval): a room gathers awareness changes
// and sends its members at most one awareness update per interval, carrying
// the latest state of every client that changed (reliability plan B12(e)).
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { startServer, QUIRE_BIN, makeDataDir } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import {
  connectProvider, destroyAll, openRaw, waitFor, roomName, sleep,
  decodeMessage, encAwareness, encoding, MSG_AWARENESS
} from './lib/yclient.mjs'

const isAwareness = (m) => typeof m !== 'string' && m[0] === MSG_AWARENESS

/** An awareness message (01 update) with the given entries, clocks as given. */
function awMsg (entries) {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, entries.length)
  for (const { client, clock, state } of entries) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, JSON.stringify(state))
  }
  return encAwareness(encoding.toUint8Array(e))
}

/** Applies an awareness message to `map` (client -> {clock, state}) with
 *  y-protocols' rule (applyAwarenessUpdate); returns its entries. */
function applyTo (map, msg) {
  const entries = decodeMessage(msg).awareness
  for (const { client, clock, state } of entries) {
    const cur = map.get(client)
    const known = cur ? cur.clock : 0
    if (known < clock || (known === clock && state === null && cur && cur.state !== null)) {
      map.set(client, { clock, state })
    }
  }
  return entries
}

/** Every non-empty awareness message a raw client receives from now on, with
 *  its arrival time (the 01 01 00 keep-alive carries no entry and is left out). */
function recordAwareness (raw) {
  const got = []
  raw.ws.on('message', (data, isBinary) => {
    const m = new Uint8Array(data)
    if (isBinary && isAwareness(m) && decodeMessage(m).awareness.length > 0) got.push({ at: Date.now(), msg: m })
  })
  return got
}

// A sender and an observer join `room`; once their joining traffic is read,
// the sender sends 30 changes of `client` (clocks 1..30) at once, and
// `body(seen)` runs with the awareness messages the observer receives
// (recordAwareness). Both are closed afterwards.
async function withBurst (server, room, client, body) {
  const sender = await openRaw(server, room)
  const observer = await openRaw(server, room)
  try {
    await sender.drain(200)
    await observer.drain(200)
    const seen = recordAwareness(observer)
    for (let clock = 1; clock <= 30; clock++) sender.send(awMsg([{ client, clock, state: { cursor: clock } }]))
    await body(seen)
  } finally {
    sender.terminate()
    observer.terminate()
  }
}

/** Runs `quire serve` with `args` expecting a refusal: {status, stderr}. */
function refusedStart (args, env = {}) {
  const dir = makeDataDir()
  const r = spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--allow-anonymous', ...args], {
    env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10000
  })
  fs.rmSync(dir, { recursive: true, force: true })
  return { status: r.status, stderr: r.stderr }
}

describe('presence coalescing (default --presence-interval 100)', () => {
  let server
  before(async () => { server = await startServer() })
  after(async () => { await server.stop() })

  test('20 clients moving cursors every 20 ms for 2 s: everyone ends with everyone\'s last state, ' +
    'and a member receives at most one awareness message per 100 ms', { timeout: 60000 }, async () => {
    const room = roomName('presence-load')
    const N = 20
    const DURATION = 2000
    const INTERVAL = 100
    const clients = []
    let observer
    const timers = []
    try {
      for (let i = 0; i < N; i++) clients.push(await connectProvider(server, room))
      observer = await openRaw(server, room)
      await observer.drain(300) // step 1 and the states sent on connect
      const broadcasts0 = await metric(server, 'quire_presence_broadcasts_total')
      const seen = recordAwareness(observer)
      // what one provider's socket receives, counted the same way
      const providerGot = []
      clients[0].provider.ws.addEventListener('message', (ev) => {
        const m = new Uint8Array(ev.data)
        if (isAwareness(m) && decodeMessage(m).awareness.length > 0) providerGot.push(Date.now())
      })

      const last = new Map() // client id -> the last state it set
      let moves = 0
      const t0 = Date.now()
      await new Promise((resolve) => {
        clients.forEach((c, i) => {
          let seq = 0
          const move = () => {
            const state = { user: { name: `u${i}` }, cursor: { anchor: seq, head: seq + i } }
            seq++
            moves++
            c.awareness.setLocalState(state)
            last.set(c.doc.clientID, state)
          }
          move()
          timers.push(setInterval(move, 20))
        })
        setTimeout(resolve, DURATION)
      })
      timers.forEach(clearInterval)
      const loadMs = Date.now() - t0

      // Correctness: every provider ends with every other provider's last state.
      const lagging = () => {
        const out = []
        for (const c of clients) {
          for (const [id, state] of last) {
            if (JSON.stringify(c.awareness.getStates().get(id)) !== JSON.stringify(state)) out.push(`${c.doc.clientID} lacks ${id}`)
          }
        }
        return out
      }
      await waitFor(() => lagging().length === 0, {
        timeout: 10000, message: () => `every client to hold every last state (${lagging().length} missing, e.g. ${lagging().slice(0, 3)})`
      })
      await sleep(3 * INTERVAL) // anything still due has been flushed
      // ... and so does the raw observer, from the messages it counted.
      const view = new Map()
      let entries = 0
      for (const { msg } of seen) entries += applyTo(view, msg).length
      for (const [id, state] of last) {
        assert.deepEqual(view.get(id)?.state, state, `observer's last state for ${id}`)
      }

      // Coalescing: flushes are at least INTERVAL apart in the server's time.
      const span = seen[seen.length - 1].at - seen[0].at
      const bound = Math.ceil(span / INTERVAL) + 3
      const info = `${seen.length} awareness messages (${entries} entries) over ${span} ms for ${moves} moves in ` +
        `${loadMs} ms; provider 0 received ${providerGot.length}`
      console.log(`# ${info}`)
      assert.ok(seen.length <= bound, `observer: ${info}; at most ${bound} allowed`)
      assert.ok(entries > seen.length, `messages carry several clients each: ${info}`)
      const pspan = providerGot[providerGot.length - 1] - providerGot[0]
      assert.ok(providerGot.length <= Math.ceil(pspan / INTERVAL) + 3, `provider 0: ${info}`)
      for (const c of clients) assert.deepEqual(c.closes, [], 'no provider was closed')
      // the server counts one broadcast per flush, whatever the number of members
      assert.equal(await metric(server, 'quire_presence_broadcasts_total') - broadcasts0, seen.length)
    } finally {
      timers.forEach(clearInterval)
      if (observer) observer.terminate()
      destroyAll(clients)
    }
  })

  test('a burst from one client arrives as at most a few messages, the last carrying its latest clock', { timeout: 30000 }, async () => {
    const client = 4242
    await withBurst(server, roomName('presence-burst'), client, async (seen) => {
      const view = new Map()
      await waitFor(() => { view.clear(); seen.forEach(({ msg }) => applyTo(view, msg)); return view.get(client)?.clock === 30 },
        { timeout: 5000, message: () => `clock 30 to arrive (got ${seen.length} messages)` })
      await sleep(300)
      assert.ok(seen.length <= 3, `30 changes within one interval arrived as ${seen.length} messages`)
      assert.deepEqual(view.get(client), { clock: 30, state: { cursor: 30 } })
      for (const { msg } of seen) assert.equal(decodeMessage(msg).awareness.length, 1, 'one entry per client id')
    })
  })

  test('coalesced presence echoed back by y-websocket counts against neither --message-rate nor --byte-rate', { timeout: 60000 }, async () => {
    // 20 providers move 10 times a second with a 20 ms interval: each
    // receives (and y-websocket echoes) up to 50 flushes a second. With
    // --message-rate 20 (bursts of 80) a provider may send 80 + 20 T messages
    // in T seconds: its own 10 T moves fit, but not its moves plus more than
    // 80 + 10 T unrefunded echoes. Likewise --byte-rate 1K with bursts of 4K
    // (--max-message 4K): 4096 + 1024 T bytes hold its own moves (about
    // 0.5 KB a second) but not over 4096 + 1024 T bytes of echoed flushes
    // (each carries the states that changed in its 20 ms). The providers move
    // until provider 0 has received that much (about 2 s on an idle machine,
    // longer on a loaded one, whose timers fire late), at most 20 s.
    const s = await startServer({
      args: ['--presence-interval', '20', '--message-rate', '20', '--byte-rate', '1K', '--max-message', '4K']
    })
    const clients = []
    const timers = []
    try {
      const room = roomName('presence-echo')
      for (let i = 0; i < 20; i++) clients.push(await connectProvider(s, room))
      const echoes = []
      let echoBytes = 0
      clients[0].provider.ws.addEventListener('message', (ev) => {
        const m = new Uint8Array(ev.data)
        if (isAwareness(m)) { echoes.push(1); echoBytes += m.length }
      })
      const last = new Map()
      clients.forEach((c, i) => {
        let seq = 0
        const move = () => {
          const state = { cursor: seq++, i }
          c.awareness.setLocalState(state)
          last.set(c.doc.clientID, state)
        }
        // staggered by 5 ms, so that changes arrive all through each interval
        timers.push(setTimeout(() => { move(); timers.push(setInterval(move, 100)) }, i * 5))
      })
      const t0 = Date.now()
      const enough = () => {
        const T = (Date.now() - t0) / 1000
        return echoes.length > 80 + 10 * T && echoBytes > 4096 + 1024 * T
      }
      while (!enough() && Date.now() - t0 < 20000) await sleep(100)
      const T = (Date.now() - t0) / 1000
      timers.forEach((t) => { clearTimeout(t); clearInterval(t) })
      await waitFor(() => clients.every((c) => [...last].every(([id, st]) => JSON.stringify(c.awareness.getStates().get(id)) === JSON.stringify(st))),
        { timeout: 10000, message: 'every provider to hold every last state' })
      assert.ok(echoes.length > 80 + 10 * T, `provider 0 received ${echoes.length} presence messages in ${T} s (enough echoes to exceed the budget)`)
      assert.ok(echoBytes > 4096 + 1024 * T, `provider 0 received ${echoBytes} bytes of presence in ${T} s (enough to exceed the byte budget)`)
      for (const c of clients) assert.deepEqual(c.closes, [], 'no provider was closed (rate limit)')
      assert.equal(await metric(s, 'quire_rate_limited_closes_total'), 0)
      assert.equal(await metric(s, 'quire_byte_rate_closes_total'), 0)
    } finally {
      timers.forEach(clearInterval)
      destroyAll(clients)
      await s.stop()
    }
  })
})

describe('presence and --byte-rate', () => {
  test('a connection sending presence over --byte-rate is closed with 1008; the room carries on', { timeout: 30000 }, async () => {
    // 10 KB a second in bursts of 40 KB; the flood sends about 100 KB a second
    const s = await startServer({ args: ['--byte-rate', '10K', '--max-message', '16K'] })
    let flood, calm, watcher
    try {
      const room = roomName('presence-bytes')
      flood = await openRaw(s, room)
      calm = await openRaw(s, room)
      watcher = await openRaw(s, room)
      calm.send(awMsg([{ client: 22, clock: 1, state: { name: 'calm' } }]))
      const t0 = Date.now()
      for (let i = 1; i <= 300 && !flood.closeInfo; i++) {
        flood.send(awMsg([{ client: 11, clock: i, state: { pad: 'x'.repeat(1000) } }]))
        if (i % 50 === 0) calm.send(awMsg([{ client: 22, clock: 1 + i / 50, state: { name: 'calm', i } }]))
        await sleep(10)
      }
      const closed = await Promise.race([flood.closed, sleep(3000).then(() => null)])
      assert.deepEqual(closed, { code: 1008, reason: 'byte rate limit' }, `flood closed after ${Date.now() - t0} ms`)
      assert.equal(calm.closeInfo, null, 'the calm connection stays')
      assert.equal(await metric(s, 'quire_byte_rate_closes_total'), 1)
      // the flood's presence is removed; the calm client's stays
      watcher.send(new Uint8Array([3]))
      const reply = await watcher.nextMatching((m) => isAwareness(m) && decodeMessage(m).awareness.length > 0 &&
        !decodeMessage(m).awareness.some((e) => e.client === 11 && e.state !== null) &&
        decodeMessage(m).awareness.every((e) => e.client === 22), 5000, 'a 03 reply with only the calm client')
      assert.equal(decodeMessage(reply).awareness[0].state.name, 'calm')
    } finally {
      for (const c of [flood, calm, watcher]) if (c) c.terminate()
      await s.stop()
    }
  })
})

describe('presence with --presence-interval 0 (each change at once)', () => {
  let server
  before(async () => { server = await startServer({ args: ['--presence-interval', '0'] }) })
  after(async () => { await server.stop() })

  test('every accepted change is relayed as its own message, in order', { timeout: 30000 }, async () => {
    const client = 4343
    await withBurst(server, roomName('presence-immediate'), client, async (seen) => {
      await waitFor(() => seen.length >= 30, { timeout: 5000, message: () => `30 messages (got ${seen.length})` })
      await sleep(200)
      assert.equal(seen.length, 30)
      seen.forEach(({ msg }, i) => {
        assert.deepEqual(decodeMessage(msg).awareness, [{ client, clock: i + 1, state: { cursor: i + 1 } }])
      })
    })
  })
})

describe('presence with a long interval (--presence-interval 1500)', () => {
  const INTERVAL = 1500
  let server
  before(async () => { server = await startServer({ args: ['--presence-interval', String(INTERVAL)] }) })
  after(async () => { await server.stop() })

  test('a joining connection and query-awareness get the latest states at once, not the last flushed ones', { timeout: 30000 }, async () => {
    const room = roomName('presence-join')
    const sender = await openRaw(server, room)
    let joiner
    try {
      const client = 5151
      sender.send(awMsg([{ client, clock: 1, state: { cursor: 1 } }])) // sent at once (nothing sent lately)
      await sender.nextMatching((m) => isAwareness(m) && decodeMessage(m).awareness.some((e) => e.clock === 1), 5000, 'clock 1 back')
      sender.send(awMsg([{ client, clock: 2, state: { cursor: 2 } }])) // waits for the flush
      await sleep(100)
      const t0 = Date.now()
      joiner = await openRaw(server, room)
      const first = await joiner.nextMatching(isAwareness, 1000, 'presence sent on connect')
      assert.deepEqual(decodeMessage(first).awareness, [{ client, clock: 2, state: { cursor: 2 } }])
      joiner.send(new Uint8Array([3]))
      const reply = await joiner.nextMatching(isAwareness, 1000, 'reply to 03')
      assert.deepEqual(decodeMessage(reply).awareness, [{ client, clock: 2, state: { cursor: 2 } }])
      assert.ok(Date.now() - t0 < INTERVAL, 'both came before the flush was due')
    } finally {
      sender.terminate()
      if (joiner) joiner.terminate()
    }
  })

  test('a disconnect\'s removal reaches everyone, also when it replaces a change still waiting', { timeout: 30000 }, async () => {
    const room = roomName('presence-leave')
    const b = await connectProvider(server, room)
    const leaver = await openRaw(server, room)
    const observer = await openRaw(server, room)
    try {
      await observer.drain(200)
      const seen = recordAwareness(observer)
      const client = 6161
      leaver.send(awMsg([{ client, clock: 1, state: { cursor: 1 } }]))
      await waitFor(() => b.awareness.getStates().get(client)?.cursor === 1, { timeout: 5000, message: 'B to see clock 1' })
      leaver.send(awMsg([{ client, clock: 2, state: { cursor: 2 } }])) // waits for the flush ...
      await sleep(50)
      leaver.terminate() // ... and is replaced by the removal
      await waitFor(() => !b.awareness.getStates().has(client), {
        timeout: INTERVAL + 3000, message: 'B to drop the leaver\'s state'
      })
      await sleep(300)
      const view = new Map()
      seen.forEach(({ msg }) => applyTo(view, msg))
      assert.deepEqual(view.get(client), { clock: 2, state: null }, 'the observer ends with the removal at the latest clock')
      assert.ok(seen.some(({ msg }) => decodeMessage(msg).awareness.some((e) => e.client === client && e.state === null)), 'a null entry was sent')
      assert.deepEqual(b.closes, [])
    } finally {
      leaver.terminate()
      observer.terminate()
      b.destroy()
    }
  })

  test('a disconnect with nothing waiting is sent on its own', { timeout: 30000 }, async () => {
    const room = roomName('presence-leave-idle')
    const b = await connectProvider(server, room)
    const leaver = await openRaw(server, room)
    try {
      const client = 7171
      leaver.send(awMsg([{ client, clock: 1, state: { cursor: 1 } }]))
      await waitFor(() => b.awareness.getStates().get(client)?.cursor === 1, { timeout: 5000, message: 'B to see the state' })
      await sleep(INTERVAL + 200) // nothing waits for a flush now
      const t0 = Date.now()
      leaver.close()
      await waitFor(() => !b.awareness.getStates().has(client), { timeout: 5000, message: 'B to drop the leaver\'s state' })
      const ms = Date.now() - t0
      assert.ok(ms < INTERVAL, `the removal took ${ms} ms: it is sent at once when the room sent nothing for an interval`)
      assert.deepEqual(b.closes, [])
    } finally {
      leaver.terminate()
      b.destroy()
    }
  })

  test('in a full room (500 clients) a removal still waiting for the flush makes room for a new client at once, ' +
    'and the removal is sent once', { timeout: 30000 }, async () => {
    // 32 connections introduce 500 client ids (16 each, the per-connection
    // cap, the last 4), filling the room's table. One of them then removes a
    // client while a flush is due, so the removal waits up to an interval; a
    // new connection's client must be taken in that time, not refused until
    // the removal has been sent.
    const room = roomName('presence-full')
    const FULL = 500
    const id = (i, k) => 100000 + i * 16 + k
    const fillers = []
    let observer, late
    try {
      observer = await openRaw(server, room)
      await observer.drain(100)
      const seen = recordAwareness(observer)
      for (let i = 0; i * 16 < FULL; i++) {
        const f = await openRaw(server, room)
        fillers.push(f)
        const n = Math.min(16, FULL - i * 16)
        f.send(awMsg(Array.from({ length: n }, (_, k) => ({ client: id(i, k), clock: 1, state: { f: i, k } }))))
      }
      const view = new Map()
      const present = () => { view.clear(); seen.forEach(({ msg }) => applyTo(view, msg)); return [...view.values()].filter((e) => e.state !== null).length }
      await waitFor(() => present() === FULL, { timeout: INTERVAL + 5000, message: () => `the observer to see ${FULL} clients (${present()})` })
      late = await openRaw(server, room)
      // query-awareness from `late` (the observer records only what the room sends everyone)
      const query = async (what) => {
        late.cursor = late.messages.length
        late.send(new Uint8Array([3]))
        // the reply to 03: the awareness message holding every present client
        const reply = await late.nextMatching((m) => isAwareness(m) && decodeMessage(m).awareness.length >= FULL - 1, 5000, what)
        return new Map(decodeMessage(reply).awareness.map((e) => [e.client, e]))
      }
      late.send(awMsg([{ client: 9000, clock: 1, state: { late: 0 } }]))
      const full = await query('a 03 reply (full room)')
      assert.equal(full.size, FULL)
      assert.ok(!full.has(9000), 'the room is full: a 501st client is refused')

      // a flush now (the observer sees it), so that the removal below waits for the next one
      fillers[1].send(awMsg([{ client: id(1, 0), clock: 2, state: { f: 1, k: 0, moved: true } }]))
      await observer.nextMatching((m) => isAwareness(m) && decodeMessage(m).awareness.some((e) => e.client === id(1, 0) && e.clock === 2),
        INTERVAL + 3000, 'the flush carrying the move')
      const seenBefore = seen.length
      const removed = id(0, 0)
      fillers[0].send(awMsg([{ client: removed, clock: 1, state: null }])) // waits for the flush
      // Two sockets are not ordered: the server has handled the removal once
      // the reply to a 03 sent after it on the same connection leaves it out.
      fillers[0].cursor = fillers[0].messages.length
      fillers[0].send(new Uint8Array([3]))
      const own = await fillers[0].nextMatching((m) => isAwareness(m) && decodeMessage(m).awareness.length >= FULL - 1, 5000,
        "the reply to the remover's 03")
      assert.ok(!decodeMessage(own).awareness.some((e) => e.client === removed), 'the removal was handled')
      late.send(awMsg([{ client: 9001, clock: 1, state: { late: 1 } }]))
      const after = await query('a 03 reply after the removal')
      assert.ok(!after.has(removed), 'the removed client is gone from the 03 reply')
      assert.deepEqual(after.get(9001), { client: 9001, clock: 1, state: { late: 1 } }, 'the new client was taken')
      assert.equal(after.size, FULL)

      // One flush carries both, so the new client was taken while the removal
      // was still waiting; the removal is sent exactly once.
      await waitFor(() => seen.length > seenBefore, { timeout: INTERVAL + 3000, message: 'the flush carrying the removal' })
      assert.deepEqual(decodeMessage(seen[seenBefore].msg).awareness.sort((x, y) => x.client - y.client),
        [{ client: 9001, clock: 1, state: { late: 1 } }, { client: removed, clock: 1, state: null }],
        'the flush after the removal carries it and the new client')
      await sleep(INTERVAL + 300) // a second flush, if any, would have come by now
      const later = seen.slice(seenBefore).flatMap(({ msg }) => decodeMessage(msg).awareness)
      assert.deepEqual(later.filter((e) => e.client === removed), [{ client: removed, clock: 1, state: null }], 'the removal, once')
      assert.deepEqual(later.filter((e) => e.client === 9001), [{ client: 9001, clock: 1, state: { late: 1 } }], 'the new client, once')
      assert.equal(later.length, 2, 'nothing else changed')
      assert.equal(present(), FULL)
      assert.equal(view.get(9001)?.state?.late, 1)
    } finally {
      for (const c of [observer, late, ...fillers]) if (c) c.terminate()
    }
  })
})

describe('--presence-interval and --byte-rate values', () => {
  for (const [value, why] of [['abc', /invalid value 'abc' for --presence-interval/], ['-1', /invalid value '-1' for --presence-interval/],
    ['', /invalid value '' for --presence-interval/], ['1.5', /invalid value '1.5' for --presence-interval/],
    ['10001', /--presence-interval must be 0 to 10000 milliseconds, not 10001/]]) {
    test(`--presence-interval '${value}' is refused with exit 2`, () => {
      const r = refusedStart(['--presence-interval', value])
      assert.equal(r.status, 2, r.stderr)
      assert.match(r.stderr, why)
    })
  }

  test('QUIRE_PRESENCE_INTERVAL is checked the same way', () => {
    const r = refusedStart([], { QUIRE_PRESENCE_INTERVAL: '20000' })
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /QUIRE_PRESENCE_INTERVAL must be 0 to 10000 milliseconds, not 20000/)
  })

  for (const value of ['abc', '-1', '2T', '']) {
    test(`--byte-rate '${value}' is refused with exit 2`, () => {
      const r = refusedStart(['--byte-rate', value])
      assert.equal(r.status, 2, r.stderr)
      assert.match(r.stderr, new RegExp(`invalid value '${value}' for --byte-rate`))
    })
  }

  test('0 and 10000 are accepted', { timeout: 60000 }, async () => {
    for (const v of ['0', '10000']) {
      const s = await startServer({ args: [`--presence-interval=${v}`] })
      await s.stop()
    }
  })
})
