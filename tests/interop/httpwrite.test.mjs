// POST /api/docs/{doc}/update: one Yjs v1 update written over HTTP takes the
// WebSocket path (integrate → store → relay). The answer comes after the
// commit: 200 {"stored":N}; {"stored":0} for a duplicate; 202 with
// "pending":true while its structs wait for a missing dependency. Refusals:
// 401/403 (token, read-only), 405, 413 (--max-http-body), 400 (empty or
// malformed), 422, 429 (--room-opens-per-ip), 503 (storage failure). A
// client that leaves before the commit does not stop the write, and a write
// answered 200 survives SIGKILL and restarts.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { startServer, makeDataDir, QUIRE_BIN } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import {
  Y, connectProvider, decodeMessage, destroyAll, fetchDoc, fetchDocUpdate, openRaw, roomName, waitFor, withDeadline, MSG_SYNC
} from './lib/yclient.mjs'
import { keygen, quireToken } from './lib/tokens.mjs'

/** POST bytes to /api/docs/{doc}/update → {status, headers, text, json}. */
async function post (server, doc, body, { headers = {}, what = 'update' } = {}) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/${what}`, {
    method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream', ...headers }, signal: AbortSignal.timeout(15000)
  })
  const text = await res.text()
  let json = null
  try { json = JSON.parse(text) } catch {}
  return { status: res.status, headers: res.headers, text, json }
}

async function getText (server, doc, root = 't', headers = {}) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/text?root=${root}`, { headers, signal: AbortSignal.timeout(10000) })
  return { status: res.status, text: await res.text() }
}

/** A Y.Doc with a fixed client id whose edits are recorded as updates. */
function recorder (clientID) {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const updates = []
  doc.on('update', (u) => updates.push(u))
  return { doc, updates }
}

function textUpdate (s, root = 't') {
  const d = new Y.Doc()
  d.getText(root).insert(0, s)
  return Y.encodeStateAsUpdate(d)
}

let keyDir, key
before(() => {
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-keys-'))
  key = keygen(keyDir, 'k')
})
after(() => { fs.rmSync(keyDir, { recursive: true, force: true }) })

test('a POSTed update is stored, served, relayed to connected clients and survives a restart; a duplicate stores 0', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  let server = await startServer({ dataDir: dir })
  const room = roomName('hw')
  let p
  try {
    p = await connectProvider(server, room)
    const u = textUpdate('written over HTTP', 'notes')
    const r = await post(server, room, u)
    assert.equal(r.status, 200, r.text)
    assert.match(r.headers.get('content-type'), /^application\/json/)
    assert.equal(typeof r.json?.stored, 'number', r.text)
    assert.ok(r.json.stored > 0, r.text)
    assert.deepEqual(Object.keys(r.json), ['stored'], 'no "pending" for a complete update')
    assert.deepEqual(await getText(server, room, 'notes'), { status: 200, text: 'written over HTTP' })
    await waitFor(() => p.doc.getText('notes').toString() === 'written over HTTP', { message: 'the connected provider to receive the HTTP write' })
    assert.deepEqual(p.closes, [])

    // the answer came after the commit, which the store counted first
    const stored = await metric(server, 'quire_store_updates_total')
    const again = await post(server, room, u)
    assert.equal(again.status, 200)
    assert.deepEqual(again.json, { stored: 0 }, 'a duplicate stores nothing')
    assert.equal(await metric(server, 'quire_store_updates_total'), stored, 'the duplicate was not stored')

    // a provider's own edit and the HTTP write live side by side
    p.doc.getText('t').insert(0, 'from the socket')
    await waitFor(async () => await metric(server, 'quire_store_updates_total') === stored + 1, { message: 'the provider edit to be stored' })
    p.destroy(); p = null

    await server.stop()
    server = await startServer({ dataDir: dir })
    assert.deepEqual(await getText(server, room, 'notes'), { status: 200, text: 'written over HTTP' })
    assert.deepEqual(await getText(server, room), { status: 200, text: 'from the socket' })
    const fresh = await connectProvider(server, room)
    try {
      assert.equal(fresh.doc.getText('notes').toString(), 'written over HTTP')
    } finally { fresh.destroy() }
    await server.stop()
  } finally {
    destroyAll(p)
    if (server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('a write answered 200 survives SIGKILL right after the answer (the answer waits for the commit)', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const args = ['--max-http-body', '4M']
  let server = await startServer({ dataDir: dir, args })
  const room = roomName('hwkill')
  const big = 'k'.repeat(2 << 20) // a larger commit takes longer to reach the disk
  try {
    const r = await post(server, room, textUpdate(big))
    assert.equal(r.status, 200, r.text)
    await server.kill()
    server = await startServer({ dataDir: dir, args })
    const t = await getText(server, room)
    assert.equal(t.status, 200)
    assert.equal(t.text.length, big.length, 'the acknowledged write must be on disk')
    await server.stop()
  } finally {
    if (server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('tokens: rw writes; ro gets 403 and stores nothing; no token 401; another document 403', { timeout: 60000 }, async () => {
  const server = await startServer({ anonymous: false, args: ['--token-pubkey', key.pubPath] })
  const room = roomName('hwtok')
  const rw = { Authorization: `Bearer ${quireToken(key, room)}` }
  const ro = { Authorization: `Bearer ${quireToken(key, room, { scope: 'ro' })}` }
  const other = { Authorization: `Bearer ${quireToken(key, 'elsewhere')}` }
  try {
    const ok = await post(server, room, textUpdate('rw wrote this'), { headers: rw })
    assert.equal(ok.status, 200, ok.text)
    assert.ok(ok.json.stored > 0)
    assert.equal(await metric(server, 'quire_http_refused_total'), 0)

    const refused = await post(server, room, textUpdate('ro tried this'), { headers: ro })
    assert.equal(refused.status, 403)
    assert.match(refused.text, /read-only token/)
    const none = await post(server, room, textUpdate('nobody tried this'))
    assert.equal(none.status, 401)
    assert.match(none.headers.get('www-authenticate'), /^Bearer/)
    const wrongDoc = await post(server, room, textUpdate('wrong doc tried this'), { headers: other })
    assert.equal(wrongDoc.status, 403)
    assert.match(wrongDoc.text, /not valid for this document/)
    // API refusals are counted apart from WebSocket handshakes
    assert.equal(await metric(server, 'quire_http_refused_total'), 3)
    assert.equal(await metric(server, 'quire_ws_refused_total'), 0)
    assert.equal(await metric(server, 'quire_auth_refused_total'), 3)

    // ro may still read; only the rw write is there
    assert.deepEqual(await getText(server, room, 't', ro), { status: 200, text: 'rw wrote this' })
    const refusedRoom = roomName('hwtok-ro-only')
    const roOnly = { Authorization: `Bearer ${quireToken(key, refusedRoom, { scope: 'ro' })}` }
    assert.equal((await post(server, refusedRoom, textUpdate('x'), { headers: roOnly })).status, 403)
    assert.equal((await getText(server, refusedRoom, 't', roOnly)).status, 404, 'nothing stored for a refused write')
  } finally {
    await server.stop()
  }
})

test('malformed bytes → 400 with the reason; an empty body → 400; the room and its clients carry on', { timeout: 60000 }, async () => {
  const server = await startServer()
  const room = roomName('hwbad')
  let p
  try {
    p = await connectProvider(server, room)
    p.doc.getText('t').insert(0, 'before')
    await waitFor(async () => (await getText(server, room)).text === 'before', { message: 'the first edit to be stored' })
    const good = textUpdate('never stored')
    for (const bad of [good.slice(0, good.length - 3), Uint8Array.from([1, 1, 200, 200, 200, 200, 200, 200, 200, 200, 200, 1]), new TextEncoder().encode('not an update')]) {
      const r = await post(server, room, bad)
      assert.equal(r.status, 400, r.text)
      assert.match(r.text, /^malformed update: \S/)
    }
    const empty = await post(server, room, new Uint8Array(0))
    assert.equal(empty.status, 400)
    assert.match(empty.text, /empty body/)
    assert.deepEqual(p.closes, [], 'the connected client is not disturbed')
    assert.deepEqual(await getText(server, room), { status: 200, text: 'before' })
    p.doc.getText('t').insert(6, ' and after')
    await waitFor(async () => (await getText(server, room)).text === 'before and after', { message: 'a later edit to be stored' })
    const ok = await post(server, room, textUpdate('fine', 'other'))
    assert.equal(ok.status, 200)
    await waitFor(() => p.doc.getText('other').toString() === 'fine', { message: 'a later HTTP write to be relayed' })
  } finally {
    destroyAll(p)
    await server.stop()
  }
})

test('a body over --max-http-body gets 413 (Content-Length and chunked) and stores nothing; one that fits is stored', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-http-body', '1024'] })
  const room = roomName('hwbig')
  try {
    const big = textUpdate('b'.repeat(1100))
    assert.ok(big.length > 1024)
    const r = await post(server, room, big)
    assert.equal(r.status, 413, r.text)
    // a streamed body goes chunked: cut off at the limit too
    const res = await fetch(`${server.httpUrl}/api/docs/${room}/update`, {
      method: 'POST',
      body: new ReadableStream({ start (c) { c.enqueue(big.slice(0, 600)); c.enqueue(big.slice(600)); c.close() } }),
      duplex: 'half',
      signal: AbortSignal.timeout(15000)
    }).catch((e) => e)
    assert.ok(!(res instanceof Error), `chunked POST: ${res}`)
    await res.arrayBuffer()
    assert.equal(res.status, 413)
    assert.equal(await fetchDocUpdate(server, room), null, 'nothing stored')
    const fits = textUpdate('f'.repeat(900))
    assert.ok(fits.length <= 1024)
    const ok = await post(server, room, fits)
    assert.equal(ok.status, 200, ok.text)
    assert.equal((await getText(server, room)).text, 'f'.repeat(900))
  } finally {
    await server.stop()
  }
})

/** Sends raw request bytes and returns the status line of the answer. */
function rawStatusLine (server, request) {
  return withDeadline(new Promise((resolve, reject) => {
    const sock = net.connect(server.port, server.host, () => sock.write(request))
    let got = ''
    sock.on('data', (b) => {
      got += b.toString('latin1')
      const eol = got.indexOf('\r\n')
      if (eol >= 0) { sock.destroy(); resolve(got.slice(0, eol)) }
    })
    sock.on('error', reject)
    sock.on('close', () => resolve(got))
  }), 10000, 'raw request')
}

test('by default an HTTP body may be 1 MiB on any route (413 before it is read, without a token); ' +
  'a WebSocket message may still be 16 MiB; --max-http-body raises the HTTP limit alone', { timeout: 60000 }, async () => {
  const server = await startServer({ anonymous: false, args: ['--token-pubkey', key.pubPath] })
  const room = roomName('hwdefault')
  let p
  try {
    // no token, a route without a body: refused from the header alone
    for (const route of ['/healthz', `/api/docs/${room}/update`, `/ws/${room}`]) {
      const line = await rawStatusLine(server, `POST ${route} HTTP/1.1\r\nHost: x\r\nContent-Length: ${(1 << 20) + 1}\r\n\r\n`)
      assert.match(line, /^HTTP\/1\.1 413 /, `${route}: ${line}`)
    }
    const token = quireToken(key, room)
    const auth = { Authorization: `Bearer ${token}` }
    const big = textUpdate('x'.repeat((1 << 20) + 64))
    const r = await post(server, room, big, { headers: auth })
    assert.equal(r.status, 413, r.text)
    assert.equal((await getText(server, room, 't', auth)).status, 404, 'nothing stored')
    // the same content over WebSocket is within --max-message (16 MiB)
    p = await connectProvider(server, room, { params: { token } })
    p.doc.getText('t').insert(0, 'x'.repeat((1 << 20) + 64))
    await waitFor(async () => (await getText(server, room, 't', auth)).text.length === (1 << 20) + 64,
      { message: 'the big text stored over WebSocket' })
  } finally {
    destroyAll(p)
    await server.stop()
  }
  const raised = await startServer({ args: ['--max-http-body', '2M'] })
  try {
    const room2 = roomName('hwraised')
    const r = await post(raised, room2, textUpdate('y'.repeat((1 << 20) + 64)))
    assert.equal(r.status, 200, r.text)
    assert.equal((await getText(raised, room2)).text.length, (1 << 20) + 64)
  } finally {
    await raised.stop()
  }
})

test('--max-http-body takes sizes of at least 64 bytes; anything else stops the server with exit status 2', () => {
  for (const [value, why] of [['10', /--max-http-body must be at least 64 bytes/], ['0', /invalid value '0' for --max-http-body/],
    ['1X', /invalid value '1X' for --max-http-body/], ['', /invalid value '' for --max-http-body/]]) {
    const dir = makeDataDir()
    const r = spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--allow-anonymous', '--max-http-body', value],
      { encoding: 'utf8', timeout: 10000 })
    fs.rmSync(dir, { recursive: true, force: true })
    assert.equal(r.status, 2, `${value}: ${r.stderr}`)
    assert.match(r.stderr, why)
  }
})

test('an update waiting for a missing dependency → 202 pending; the dependency stores both', { timeout: 60000 }, async () => {
  const server = await startServer()
  const room = roomName('hwpend')
  let p
  try {
    p = await connectProvider(server, room)
    const a = recorder(1001)
    a.doc.getText('t').insert(0, 'ab')
    a.doc.getText('t').insert(2, 'cd')
    const [u1, u2] = a.updates
    const held = await post(server, room, u2)
    assert.equal(held.status, 202, held.text)
    assert.deepEqual(held.json, { stored: 0, pending: true })
    // sent again while it still waits: still not stored, so still 202
    const again = await post(server, room, u2)
    assert.equal(again.status, 202, again.text)
    assert.deepEqual(again.json, { stored: 0, pending: true })
    assert.equal((await getText(server, room)).text, '', 'nothing integrated yet')
    assert.equal(p.doc.getText('t').toString(), '', 'nothing relayed while it waits')

    const dep = await post(server, room, u1)
    assert.equal(dep.status, 200, dep.text)
    assert.deepEqual(Object.keys(dep.json), ['stored'])
    assert.ok(dep.json.stored > u1.length, `stored ${dep.json.stored} bytes: the dependency and what waited for it`)
    assert.deepEqual(await getText(server, room), { status: 200, text: 'abcd' })
    await waitFor(() => p.doc.getText('t').toString() === 'abcd', { message: 'the provider to receive both' })

    // part integrates, part waits: 200 with the stored bytes and "pending"
    const b = recorder(2002)
    b.doc.getText('u').insert(0, 'xy')
    b.doc.getText('u').insert(2, 'z')
    const c = recorder(3003)
    c.doc.getText('v').insert(0, 'now')
    const mixed = await post(server, room, Y.mergeUpdates([c.updates[0], b.updates[1]]))
    assert.equal(mixed.status, 200, mixed.text)
    assert.equal(mixed.json.pending, true)
    assert.ok(mixed.json.stored > 0)
    assert.equal((await getText(server, room, 'v')).text, 'now')
    const rest = await post(server, room, b.updates[0])
    assert.equal(rest.status, 200)
    assert.equal((await getText(server, room, 'u')).text, 'xyz')

    // a deletion of text the document does not have yet waits too, and is
    // still waiting (202, not "stored":0) when it is sent again
    const e = recorder(4004)
    e.doc.getText('w').insert(0, 'gone')
    e.doc.getText('w').delete(0, 4)
    const [ins, del] = e.updates
    for (let i = 0; i < 2; i++) {
      const r = await post(server, room, del)
      assert.equal(r.status, 202, `deletion #${i + 1}: ${r.text}`)
      assert.deepEqual(r.json, { stored: 0, pending: true })
    }
    const filled = await post(server, room, ins)
    assert.equal(filled.status, 200, filled.text)
    assert.equal((await getText(server, room, 'w')).text, '', 'the waiting deletion applied')
  } finally {
    destroyAll(p)
    await server.stop()
  }
})

test('an update past a limit of the document → 422 with the reason; nothing stored', { timeout: 30000 }, async () => {
  const server = await startServer()
  const room = roomName('hwlimit')
  try {
    // valid Yjs: a GC run of 2^32-1 clocks, then "x" at clock 2^32-1 into root "t";
    // documents keep 32-bit clocks (the same bytes as badinput.test.mjs's clock limit)
    const clock = new Uint8Array([0x01, 0x02, 0x7b, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x04, 0x01, 0x01, 0x74, 0x01, 0x78, 0x00])
    const r = await post(server, room, clock)
    assert.equal(r.status, 422, r.text)
    assert.match(r.text, /^clock limit/)
    const res = await fetch(`${server.httpUrl}/api/docs/${room}/update`, { signal: AbortSignal.timeout(10000) })
    await res.arrayBuffer()
    assert.equal(res.status, 404, 'nothing stored')
    assert.equal((await post(server, room, textUpdate('fine'))).status, 200, 'the room takes the next write')
  } finally {
    await server.stop()
  }
})

test('wrong methods → 405 with Allow; nothing stored', { timeout: 30000 }, async () => {
  const server = await startServer()
  const room = roomName('hwmeth')
  try {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${server.httpUrl}/api/docs/${room}/update`, { method, body: textUpdate('no'), signal: AbortSignal.timeout(10000) })
      await res.arrayBuffer()
      assert.equal(res.status, 405, method)
      assert.equal(res.headers.get('allow'), 'GET, HEAD, POST')
    }
    for (const what of ['sv', 'text', 'json']) {
      const r = await post(server, room, textUpdate('no'), { what })
      assert.equal(r.status, 405, what)
      assert.equal(r.headers.get('allow'), 'GET, HEAD')
    }
    assert.equal(await fetchDocUpdate(server, room), null)
  } finally {
    await server.stop()
  }
})

test('--room-opens-per-ip: a write that would load one document too many gets 429; open ones take writes', { timeout: 30000 }, async () => {
  const server = await startServer({ args: ['--room-opens-per-ip', '2'] }) // 2 at once, then 1 per 30 s
  const rooms = [0, 1, 2].map((i) => roomName(`hwopen${i}`))
  try {
    const t0 = Date.now()
    assert.equal((await post(server, rooms[0], textUpdate('one'))).status, 200)
    assert.equal((await post(server, rooms[1], textUpdate('two'))).status, 200)
    const refused = await post(server, rooms[2], textUpdate('three'))
    if (Date.now() - t0 < 30000) {
      assert.equal(refused.status, 429, refused.text)
      assert.match(refused.text, /too many documents opened from this address/)
      assert.ok(Number(refused.headers.get('retry-after')) >= 1)
      assert.equal(await fetchDocUpdate(server, rooms[2]), null)
      assert.equal(await metric(server, 'quire_ip_refused_total', 'limit="room_opens"'), 1)
    }
    const more = await post(server, rooms[0], textUpdate('more', 'm'))
    assert.equal(more.status, 200, 'writing to an open document costs no room open')
  } finally {
    await server.stop()
  }
})

test('an address gets the write budget of one WebSocket connection: past --message-rate, 429 with Retry-After, nothing stored', { timeout: 30000 }, async () => {
  const server = await startServer({ args: ['--message-rate', '1'] }) // 1 a second, bursts of 4
  const room = roomName('hwrate')
  try {
    const results = []
    for (let i = 0; i < 6; i++) results.push(await post(server, room, textUpdate(`w${i} `, `r${i}`)))
    const ok = results.filter((r) => r.status === 200).length
    const refused = results.filter((r) => r.status === 429)
    assert.ok(ok >= 4 && ok <= 5, `the burst of 4 (and maybe one refilled) goes through: ${results.map((r) => r.status)}`)
    assert.ok(refused.length >= 1)
    assert.match(refused[0].text, /too many writes from this address/)
    assert.ok(Number(refused[0].headers.get('retry-after')) >= 1)
    assert.equal(await metric(server, 'quire_ip_refused_total', 'limit="writes"'), refused.length)
    for (const [i, r] of results.entries()) {
      const want = r.status === 200 ? `w${i} ` : ''
      assert.equal((await getText(server, room, `r${i}`)).text, want, `write ${i} (${r.status})`)
    }
  } finally {
    await server.stop()
  }
})

test('clients that leave right after sending: the writes complete, the server stays healthy', { timeout: 60000 }, async () => {
  const server = await startServer()
  const rooms = Array.from({ length: 12 }, (_, i) => roomName(`hwgone${i}`))
  let p
  try {
    p = await connectProvider(server, rooms[0])
    const content = (i) => `gone ${i} `.repeat(20000)
    await Promise.all(rooms.map((room, i) => new Promise((resolve, reject) => {
      const body = Buffer.from(textUpdate(content(i)))
      const sock = net.connect(server.port, server.host, () => {
        const head = `POST /api/docs/${room}/update HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n` +
          `Content-Length: ${body.length}\r\n\r\n`
        sock.write(Buffer.concat([Buffer.from(head), body]), () => { sock.destroy(); resolve() })
      })
      sock.on('error', reject)
    })))
    for (const [i, room] of rooms.entries()) {
      await waitFor(async () => (await getText(server, room)).text === content(i), { timeout: 15000, message: `${room} to be stored` })
    }
    await waitFor(() => p.doc.getText('t').toString() === content(0), { message: 'the write of a departed client to be relayed' })
    server.assertAlive()
    const res = await fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) })
    assert.equal(res.status, 200)
    await res.arrayBuffer()
    assert.equal((await post(server, rooms[1], textUpdate('still fine', 'x'))).status, 200)
  } finally {
    destroyAll(p)
    await server.stop() // exit 0, no sanitizer report
  }
})

test('a write the store refuses → 503 "storage failure", not served; later writes that fit are stored', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--map-size', '65536'] })
  const room = roomName('hwfull')
  let watcher
  try {
    assert.equal((await post(server, room, textUpdate('small'))).status, 200)
    watcher = await openRaw(server, room)
    await watcher.next() // the server's step 1
    const r = await post(server, room, textUpdate('x'.repeat(300000), 'big'))
    assert.equal(r.status, 503, r.text)
    assert.match(r.text, /storage failure/)
    assert.equal((await getText(server, room, 'big')).text, '', 'the refused write is not served')
    assert.equal((await fetchDoc(server, room)).getText('t').toString(), 'small')
    assert.ok(await metric(server, 'quire_store_failures_total') >= 1)
    // the room's members were closed to resync, and the write was not relayed
    assert.deepEqual(await withDeadline(watcher.closed, 5000, 'the member to be closed'), { code: 1011, reason: 'storage failure' })
    for (const m of watcher.messages.slice(1)) {
      const d = decodeMessage(m)
      if (d.type !== MSG_SYNC) continue
      const relayed = new Y.Doc()
      Y.applyUpdate(relayed, d.payload)
      assert.equal(relayed.getText('big').length, 0, 'the refused write must not be relayed')
    }
    const ok = await post(server, room, textUpdate('after', 'later'))
    assert.equal(ok.status, 200, ok.text)
    assert.equal((await getText(server, room, 'later')).text, 'after')
  } finally {
    if (watcher) watcher.close()
    await server.stop()
  }
})

test('SIGTERM with writes in flight: clean exit; every write answered 200 is there after a restart', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  let server = await startServer({ dataDir: dir })
  const rooms = Array.from({ length: 16 }, (_, i) => roomName(`hwterm${i}`))
  try {
    const content = (i) => `term ${i} `.repeat(30000)
    const writes = rooms.map((room, i) => post(server, room, textUpdate(content(i))).catch((e) => ({ status: 0, text: String(e) })))
    await new Promise((resolve) => setTimeout(resolve, 20))
    const st = await server.stop({ keepData: true })
    assert.equal(st.code, 0)
    const results = await Promise.all(writes)
    for (const r of results) assert.ok([0, 200, 503].includes(r.status), `${r.status} ${r.text}`)
    server = await startServer({ dataDir: dir })
    for (const [i, r] of results.entries()) {
      if (r.status === 200) assert.equal((await getText(server, rooms[i])).text, content(i), `${rooms[i]} was answered 200`)
    }
    await server.stop()
  } finally {
    if (server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
