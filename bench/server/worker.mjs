// One load-generator process. run.mjs forks a few of these (child_process.fork)
// and drives them over IPC; each owns a share of the rooms and of the
// connections, so the load of receiving is spread over processes.
//
// Commands (message {id, cmd, ...}; answer {id, ok, result | error}):
//   fanout-setup   open and join members × rooms, pre-generate the writers' updates
//   fanout-go      the timed phase (fixed rate, or a window of updates in flight
//                  per room), then the drain and every check; closes everything
//   idle-open      open and join `count` more connections, spread over rooms
//   idle-close     close them
//   rooms-open     one connection per room, joined (an empty document)
//   rooms-load     send the snapshot into every room; wait until each room answers
//                  a sync step 1 sent after it (so the update was processed)
//   rooms-check    a fresh client per room syncs the whole document and compares
//                  its text with the snapshot's
//   rooms-close, exit
//
// Every connection is a `ws` client speaking the protocol by hand (wire.mjs).
// Times are performance.now() of this process: a sender and its receivers are
// always in the same process, so latencies need no cross-process clock.

import fs from 'node:fs'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { adapterFor, firstStructId, MSG_SYNC, MSG_AUTH, SYNC_STEP2, SYNC_UPDATE } from './wire.mjs'
import { Histogram } from './stats.mjs'
import { rng } from '../../tests/interop/lib/rng.mjs'

const CONNECT_TIMEOUT_MS = 15000
const OPEN_CONCURRENCY = 64
const EMPTY_SV = Y.encodeStateVector(new Y.Doc())
const now = () => performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------
// Connections

/**
 * Open a WebSocket to `doc` and join: the hello (Hocuspocus auth), sync step 1
 * with an empty state vector, then wait for the server's sync step 2. Resolves
 * to a conn whose `onMessage(parsed, buf)` can be replaced afterwards.
 */
function openJoined (ad, wsBase, doc) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(ad.url(wsBase, doc), { perMessageDeflate: false })
    ws.binaryType = 'nodebuffer'
    const conn = { ws, doc, closed: false, closeCode: null, other: 0, onMessage: null, step2: null }
    let done = false
    const timer = setTimeout(() => finish(new Error(`join ${doc}: no sync step 2 within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS)
    const finish = (err) => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (err) { try { ws.terminate() } catch {} reject(err) } else resolve(conn)
    }
    ws.on('open', () => {
      for (const m of ad.hello(doc)) ws.send(m)
      ws.send(ad.step1(doc, EMPTY_SV))
    })
    ws.on('message', (buf) => {
      if (conn.onMessage) return conn.onMessage(buf)
      let m
      try { m = ad.parse(buf) } catch (e) { return finish(e) }
      if (m.type === MSG_SYNC && m.sub === SYNC_STEP2 && !done) {
        conn.step2 = Buffer.from(m.payload)
        finish(null)
      } else if (m.type === MSG_AUTH && m.sub === 1) {
        finish(new Error(`join ${doc}: permission denied`))
      } else {
        conn.other++
      }
    })
    ws.on('error', (e) => finish(e))
    ws.on('close', (code) => {
      conn.closed = true
      conn.closeCode = code
      finish(new Error(`join ${doc}: closed with ${code}`))
    })
  })
}

/** Run `fn` over `items` with at most `limit` at a time; collects results and errors. */
async function pool (items, limit, fn) {
  const results = new Array(items.length)
  const errors = []
  let next = 0
  const run = async () => {
    while (next < items.length) {
      const i = next++
      try { results[i] = await fn(items[i], i) } catch (e) { errors.push(String(e.message || e)) }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run))
  return { results, errors }
}

async function closeAll (conns, timeoutMs = 5000) {
  const live = conns.filter((c) => c && !c.closed)
  await Promise.race([
    Promise.all(live.map((c) => new Promise((resolve) => {
      c.ws.once('close', resolve)
      try { c.ws.close(1000) } catch { resolve() }
    }))),
    sleep(timeoutMs)
  ])
  for (const c of live) if (!c.closed) { try { c.ws.terminate() } catch {} }
}

// ---------------------------------------------------------------------------
// Fan-out

let fan = null

async function fanoutSetup (o) {
  const ad = adapterFor(o.kind)
  const rand = rng(o.seed)
  const rooms = o.rooms.map((name, ri) => ({ name, ri, members: [], writers: [], inflight: 0, nextWriter: 0 }))
  const items = []
  for (const room of rooms) for (let k = 0; k < o.members; k++) items.push({ room, k })
  const { results, errors } = await pool(items, OPEN_CONCURRENCY, ({ room }) => openJoined(ad, o.wsBase, room.name))
  if (errors.length) {
    await closeAll(results)
    throw new Error(`${errors.length} of ${items.length} joins failed; first: ${errors[0]}`)
  }
  const byClient = new Map()
  items.forEach(({ room, k }, i) => {
    const c = results[i]
    const m = { conn: c, room, k, writer: null, next: null, got: 0, dup: 0, gap: 0, echo: 0, foreign: 0, store: null, statusAcks: 0 }
    room.members.push(m)
    if (k < o.writers) {
      // Each writer edits its own Y.Doc: single-character inserts at random
      // positions of its own text (like typing into a shared paragraph),
      // pre-generated so the timed phase spends no client CPU in Yjs.
      const doc = new Y.Doc()
      const w = { m, room, idx: k, doc, clientID: doc.clientID, msgs: [], updates: [], sent: 0, sendAt: null, remaining: null }
      const text = doc.getText('t')
      doc.on('update', (u) => { w.updates.push(u); w.msgs.push(ad.update(room.name, u)) })
      for (let j = 0; j < o.perWriter; j++) {
        text.insert(Math.floor(rand() * (text.length + 1)), String.fromCharCode(97 + ((j + k) % 26)))
      }
      w.sendAt = new Float64Array(o.perWriter)
      w.remaining = new Int32Array(o.perWriter)
      m.writer = w
      room.writers.push(w)
      byClient.set(w.clientID, w)
    }
    // Keep the bytes of two members per room (the first non-writer and the last)
    // to rebuild their documents after the run.
    if (k === o.writers || k === o.members - 1) m.store = []
  })
  for (const room of rooms) for (const m of room.members) m.next = new Int32Array(room.writers.length)
  let updateBytes = 0, nUpdates = 0
  for (const room of rooms) for (const w of room.writers) for (const u of w.updates) { updateBytes += u.length; nUpdates++ }
  fan = { o, ad, rooms, byClient, hist: new Histogram(), delivered: 0, deliveredInWindow: 0, t0: 0, tEnd: 0, lastRecv: 0, sending: false, ranOut: 0 }
  for (const room of rooms) {
    for (const m of room.members) m.conn.onMessage = (buf) => onFanMessage(m, buf)
  }
  return { conns: items.length, writers: byClient.size, avgUpdateBytes: updateBytes / nUpdates, pregenerated: nUpdates }
}

function onFanMessage (m, buf) {
  const t = now()
  let msg
  try { msg = fan.ad.parse(buf) } catch { m.conn.other++; return }
  if (msg.type !== MSG_SYNC || (msg.sub !== SYNC_UPDATE && msg.sub !== SYNC_STEP2)) {
    if (msg.type === 8) m.statusAcks++ // Hocuspocus SyncStatus to the sender
    else m.conn.other++
    return
  }
  const id = firstStructId(msg.payload)
  if (!id) { m.conn.other++; return }
  const w = fan.byClient.get(id.client)
  if (!w || w.room !== m.room) { m.foreign++; return }
  if (w === m.writer) { m.echo++; return } // y-websocket and Hocuspocus echo to the sender
  const expect = m.next[w.idx]
  if (id.clock < expect) { m.dup++; return }
  if (id.clock > expect) m.gap += id.clock - expect
  m.next[w.idx] = id.clock + 1
  m.got++
  fan.delivered++
  if (t <= fan.tEnd || fan.sending) fan.deliveredInWindow++
  fan.lastRecv = t
  if (id.clock < w.sent) {
    fan.hist.add((t - w.sendAt[id.clock]) * 1000)
    if (--w.remaining[id.clock] === 0 && fan.o.mode === 'window') {
      m.room.inflight--
      if (fan.sending) fillWindow(m.room)
    }
  }
  if (m.store) m.store.push(Buffer.from(msg.payload))
}

function sendNext (w) {
  if (w.sent >= w.msgs.length) { fan.ranOut++; return false }
  const i = w.sent++
  w.remaining[i] = w.room.members.length - 1
  w.sendAt[i] = now()
  w.m.conn.ws.send(w.msgs[i])
  return true
}

function fillWindow (room) {
  let guard = room.writers.length
  while (room.inflight < fan.o.window && guard > 0) {
    const w = room.writers[room.nextWriter]
    room.nextWriter = (room.nextWriter + 1) % room.writers.length
    if (sendNext(w)) { room.inflight++; guard = room.writers.length } else guard--
  }
}

async function fanoutGo (msg) {
  const { o, rooms } = fan
  o.rate = msg.rate
  const allWriters = rooms.flatMap((r) => r.writers)
  const cpu0 = process.cpuUsage()
  fan.t0 = now()
  fan.tEnd = fan.t0 + o.durationMs
  fan.sending = true
  let sentTotal = 0
  if (o.mode === 'window') {
    for (const room of rooms) fillWindow(room)
    await sleep(o.durationMs)
  } else {
    // Fixed aggregate rate: every millisecond or so, send what is due, round-robin
    // over all writers of this process.
    const perMs = o.rate / 1000
    let rr = 0
    for (;;) {
      const t = now()
      if (t >= fan.tEnd) break
      const due = Math.floor((t - fan.t0) * perMs)
      while (sentTotal < due) {
        const w = allWriters[rr]
        rr = (rr + 1) % allWriters.length
        if (!sendNext(w)) break
        sentTotal++
      }
      await sleep(1)
    }
  }
  fan.sending = false
  const tStop = now()
  const cpuSend = process.cpuUsage(cpu0)
  // Drain: everything sent must reach every other member of its room.
  let expected = 0
  for (const room of rooms) for (const w of room.writers) expected += w.sent * (room.members.length - 1)
  const drainDeadline = now() + o.drainMs
  while (fan.delivered < expected && now() < drainDeadline) await sleep(10)
  const drainMs = fan.delivered >= expected ? Math.max(0, fan.lastRecv - tStop) : null
  const cpuAll = process.cpuUsage(cpu0)

  // Checks.
  const problems = []
  let dup = 0, gap = 0, foreign = 0, echo = 0, statusAcks = 0, other = 0, closed = 0
  for (const room of rooms) {
    for (const m of room.members) {
      dup += m.dup; gap += m.gap; foreign += m.foreign; echo += m.echo; statusAcks += m.statusAcks; other += m.conn.other
      if (m.conn.closed) closed++
      let want = 0
      for (const w of room.writers) if (w !== m.writer) want += w.sent
      if (m.got !== want && problems.length < 5) problems.push(`${room.name} member ${m.k}: got ${m.got} of ${want} updates`)
    }
  }
  if (fan.delivered !== expected) problems.unshift(`delivered ${fan.delivered} of ${expected} expected frames within ${o.drainMs / 1000} s after sending stopped`)
  if (dup) problems.push(`${dup} duplicate deliveries`)
  if (gap) problems.push(`${gap} updates skipped (out of order)`)
  if (foreign) problems.push(`${foreign} updates from another room`)
  if (closed) problems.push(`${closed} connections closed by the server during the run`)
  // Convergence: the oracle (every update sent, applied to one doc) against two
  // members' rebuilt documents and against a fresh client's full sync.
  let textsChecked = 0
  for (const room of rooms) {
    const oracle = new Y.Doc()
    for (const w of room.writers) {
      Y.applyUpdate(oracle, Y.mergeUpdates(w.updates.slice(0, w.sent)))
    }
    const want = oracle.getText('t').toString()
    const wantLen = room.writers.reduce((a, w) => a + w.sent, 0)
    if (want.length !== wantLen) problems.push(`${room.name}: oracle text has ${want.length} chars, ${wantLen} sent`)
    for (const m of room.members) {
      if (!m.store) continue
      const d = new Y.Doc()
      if (m.writer) Y.applyUpdate(d, Y.mergeUpdates(m.writer.updates.slice(0, m.writer.sent)))
      for (const u of m.store) Y.applyUpdate(d, u)
      if (d.getText('t').toString() !== want) problems.push(`${room.name} member ${m.k}: text differs from the oracle`)
      else textsChecked++
    }
    try {
      const c = await openJoined(fan.ad, o.wsBase, room.name)
      const d = new Y.Doc()
      Y.applyUpdate(d, c.step2)
      if (d.getText('t').toString() !== want) problems.push(`${room.name}: the server's document differs from the oracle`)
      else textsChecked++
      await closeAll([c])
    } catch (e) {
      problems.push(`${room.name}: checker could not sync: ${e.message}`)
    }
  }
  if (fan.ranOut) problems.push(`writers ran out of pre-generated updates ${fan.ranOut} times (raise perWriter)`)
  await closeAll(rooms.flatMap((r) => r.members.map((m) => m.conn)))
  const sent = allWriters.reduce((a, w) => a + w.sent, 0)
  const res = {
    sent,
    expectedFrames: expected,
    delivered: fan.delivered,
    deliveredInWindow: fan.deliveredInWindow,
    durationMs: tStop - fan.t0,
    lastRecvMs: fan.lastRecv - fan.t0,
    drainMs,
    echo,
    statusAcks,
    other,
    textsChecked,
    problems,
    hist: fan.hist.toJSON(),
    clientCpuSec: (cpuSend.user + cpuSend.system) / 1e6,
    clientCpuAllSec: (cpuAll.user + cpuAll.system) / 1e6
  }
  fan = null
  return res
}

// ---------------------------------------------------------------------------
// Idle connections and room memory

let idle = []
let loaders = []

async function idleOpen (o) {
  const ad = adapterFor(o.kind)
  const items = Array.from({ length: o.count }, (_, i) => o.rooms[(o.offset + i) % o.rooms.length])
  const t0 = now()
  const { results, errors } = await pool(items, OPEN_CONCURRENCY, (doc) => openJoined(ad, o.wsBase, doc))
  for (const c of results) if (c) idle.push(c)
  return { opened: results.filter(Boolean).length, failed: errors.length, firstError: errors[0] || null, ms: now() - t0 }
}

async function idleClose () {
  const alive = idle.filter((c) => !c.closed).length
  await closeAll(idle)
  idle = []
  return { aliveBeforeClose: alive }
}

async function roomsOpen (o) {
  const ad = adapterFor(o.kind)
  const { results, errors } = await pool(o.rooms, 16, (doc) => openJoined(ad, o.wsBase, doc))
  loaders = results.filter(Boolean)
  if (errors.length) throw new Error(`${errors.length} room joins failed; first: ${errors[0]}`)
  return { opened: loaders.length }
}

async function roomsLoad (o) {
  const ad = adapterFor(o.kind)
  const update = fs.readFileSync(o.snapshot)
  const doc = new Y.Doc()
  Y.applyUpdate(doc, update)
  const sv = Y.encodeStateVector(doc)
  const t0 = now()
  await pool(loaders, 4, (c) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${c.doc}: no answer to sync step 1 after the load`)), 30000)
    c.onMessage = (buf) => {
      const m = ad.parse(buf)
      if (m.type === MSG_SYNC && m.sub === SYNC_STEP2) { clearTimeout(timer); c.onMessage = () => {}; resolve() }
    }
    c.ws.send(ad.update(c.doc, update))
    c.ws.send(ad.step1(c.doc, sv))
  })).then(({ errors }) => { if (errors.length) throw new Error(errors[0]) })
  return { loaded: loaders.length, bytes: update.length, ms: now() - t0 }
}

async function roomsCheck (o) {
  const ad = adapterFor(o.kind)
  const want = fs.readFileSync(o.expectText, 'utf8')
  let ok = 0
  const bad = []
  for (const c of loaders) {
    const chk = await openJoined(ad, o.wsBase, c.doc)
    const d = new Y.Doc()
    Y.applyUpdate(d, chk.step2)
    if (d.getText('t').toString() === want) ok++
    else bad.push(c.doc)
    await closeAll([chk])
  }
  const closed = loaders.filter((c) => c.closed).length
  return { ok, bad: bad.slice(0, 5), loadersClosed: closed }
}

async function roomsClose () {
  await closeAll(loaders)
  loaders = []
  return {}
}

// ---------------------------------------------------------------------------

const handlers = {
  'fanout-setup': fanoutSetup,
  'fanout-go': fanoutGo,
  'idle-open': idleOpen,
  'idle-close': idleClose,
  'rooms-open': roomsOpen,
  'rooms-load': roomsLoad,
  'rooms-check': roomsCheck,
  'rooms-close': roomsClose,
  ping: async () => ({ pid: process.pid })
}

process.on('message', async (msg) => {
  if (msg.cmd === 'exit') { process.disconnect(); process.exit(0) }
  const h = handlers[msg.cmd]
  try {
    if (!h) throw new Error(`unknown command ${msg.cmd}`)
    const result = await h(msg)
    process.send({ id: msg.id, ok: true, result })
  } catch (e) {
    process.send({ id: msg.id, ok: false, error: String(e.stack || e) })
  }
})
process.on('disconnect', () => process.exit(0))
