// Bad input is refused with a specific close code / HTTP status, and loses
// nothing: the server keeps running, the room keeps syncing and the stored
// document is unchanged.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import { startServer } from './lib/server.mjs'
import {
  Y, connectProvider, destroyAll, openRaw, waitFor, roomName, fetchDoc, sameState, waitStored,
  encUpdate, withDeadline, rawGet, wsHeaders, WebSocket
} from './lib/yclient.mjs'

const MAX_MESSAGE = 65536

/** A real update (from another client) that the doc does not have yet. */
function realUpdate () {
  const d = new Y.Doc()
  d.getText('t').insert(0, 'this text must never be stored, it arrives truncated')
  d.getMap('m').set('evil', { nested: [1, 2, 3] })
  return Y.encodeStateAsUpdate(d)
}

const CASES = [
  { name: 'text frame', code: 1003, send: () => 'hello' },
  { name: 'unknown outer message type 0x09', code: 1003, send: () => new Uint8Array([0x09]) },
  { name: 'unknown outer message type 0x7f with body', code: 1003, send: () => new Uint8Array([0x7f, 1, 2, 3]) },
  { name: 'unknown sync message type 0x07', code: 1003, send: () => new Uint8Array([0x00, 0x07, 0x01, 0x00]) },
  { name: 'garbage 00 02 05 ff ff (length prefix beyond the message)', code: 1007, send: () => new Uint8Array([0x00, 0x02, 0x05, 0xff, 0xff]) },
  {
    name: 'truncated real update (well-framed)',
    code: 1007,
    send: () => { const u = realUpdate(); return encUpdate(u.slice(0, Math.floor(u.length / 2))) }
  },
  {
    name: 'real update cut off mid-message',
    code: 1007,
    send: () => { const m = encUpdate(realUpdate()); return m.slice(0, m.length - 7) }
  },
  {
    name: 'non-Yjs bytes as an update',
    code: 1007,
    send: () => encUpdate(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))
  },
  {
    // valid Yjs: a GC run of 2^32-1 clocks, then "x" at clock 2^32-1 into root "t";
    // documents keep 32-bit clocks, so the whole update is refused
    name: 'update taking a clock past 2^32-1',
    code: 1008,
    reason: 'clock limit',
    send: () => encUpdate(new Uint8Array([
      0x01, 0x02, 0x7b, 0x00, // one section, two structs, client 123, clock 0
      0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, // GC, length 2^32-1
      0x04, 0x01, 0x01, 0x74, 0x01, 0x78, // string item, parent root "t", content "x"
      0x00 // empty delete set
    ]))
  },
  {
    name: `message over --max-message (${MAX_MESSAGE + 4464} bytes)`,
    code: 1009,
    send: () => { const b = new Uint8Array(MAX_MESSAGE + 4464); b[0] = 0x00; b[1] = 0x02; return b }
  }
]

describe('bad input over WebSocket', () => {
  let server
  before(async () => { server = await startServer({ args: ['--max-message', String(MAX_MESSAGE)] }) })
  after(async () => { await server.stop() })

  for (const c of CASES) {
    test(`${c.name} → close ${c.code}, nothing lost`, { timeout: 30000 }, async () => {
      const room = roomName('bad')
      // A bystander with content in the same room.
      const a = await connectProvider(server, room)
      let b, bad
      try {
        a.doc.getText('t').insert(0, 'precious')
        a.doc.getMap('m').set('keep', 1)
        const before = await waitStored(server, room, a.doc)

        bad = await openRaw(server, room)
        await bad.next() // server's step 1
        bad.send(c.send())
        const info = await withDeadline(bad.closed, 5000, `server to close the offending connection (${c.name})`)
        assert.equal(info.code, c.code, `close code for ${c.name}: expected ${c.code}, got ${info.code} "${info.reason}"`)
        if (c.reason) assert.equal(String(info.reason), c.reason)

        // The server is alive, the room still syncs, nothing was stored.
        server.assertAlive()
        const after = await fetchDoc(server, room)
        assert.ok(sameState(after, before), 'stored document unchanged (state vector and delete set)')
        assert.equal(after.getText('t').toString(), 'precious')
        assert.equal(after.getMap('m').get('evil'), undefined)
        b = await connectProvider(server, room)
        await waitFor(() => b.text() === 'precious', { message: () => `new client to sync (has "${b.text()}")` })
        b.doc.getText('t').insert(8, '!')
        await waitFor(() => a.text() === 'precious!', { message: () => `bystander to get the new edit (has "${a.text()}")` })
        assert.deepEqual(a.closes, [], 'bystander was never disconnected')
        const health = await fetch(`${server.httpUrl}/healthz`)
        assert.equal(health.status, 200)
        await health.text()
      } finally {
        if (bad) bad.terminate()
        destroyAll(a, b)
      }
    })
  }

  test('a message just under --max-message is accepted', { timeout: 30000 }, async () => {
    const room = roomName('big-ok')
    const d = new Y.Doc()
    d.getText('t').insert(0, 'x'.repeat(MAX_MESSAGE - 200))
    const msg = encUpdate(Y.encodeStateAsUpdate(d))
    assert.ok(msg.length < MAX_MESSAGE && msg.length > MAX_MESSAGE - 300)
    const raw = await openRaw(server, room)
    try {
      await raw.next()
      raw.send(msg)
      await waitFor(async () => (await fetchDoc(server, room)).getText('t').length === MAX_MESSAGE - 200,
        { message: `a ${msg.length}-byte update to be stored` })
      assert.equal(raw.closeInfo, null, 'connection stays open')
    } finally {
      raw.close()
    }
  })
})

describe('bad handshakes', () => {
  let server
  before(async () => { server = await startServer() })
  after(async () => { await server.stop() })

  const BAD_NAMES = [
    ['/ws/bad%20name', 'space'],
    ['/ws/', 'empty'],
    ['/ws/a%00b', 'NUL'],
    ['/ws/' + 'a'.repeat(256), '256 bytes'],
    ['/ws/a%zzb', 'bad percent escape'],
    ['/ws/caf%C3%A9', 'non-ASCII'],
    ['/ws/a:b', 'colon'],
    ['/ws/a%3Fb', 'encoded ?']
  ]
  for (const [path, what] of BAD_NAMES) {
    test(`doc name (${what}) ${path.length > 40 ? path.slice(0, 40) + '…' : path} → 400`, { timeout: 15000 }, async () => {
      const res = await rawGet(server, path, wsHeaders())
      assert.equal(res.status, 400, `GET ${path} with upgrade headers`)
    })
  }

  const GOOD_NAMES = [
    '/ws/' + 'a'.repeat(255),
    '/ws/team/notes-1.md~',
    '/ws/A.b_c-d~e'
  ]
  for (const path of GOOD_NAMES) {
    test(`valid doc name ${path.length > 40 ? path.slice(0, 40) + '…' : path} → 101`, { timeout: 15000 }, async () => {
      const res = await rawGet(server, path, wsHeaders())
      assert.equal(res.status, 101)
    })
  }

  test('Sec-WebSocket-Version 8 → 426', { timeout: 15000 }, async () => {
    const res = await rawGet(server, '/ws/handshake', wsHeaders({ 'Sec-WebSocket-Version': '8' }))
    assert.equal(res.status, 426)
    assert.equal(res.headers['sec-websocket-version'], '13', '426 names the supported version')
  })

  test('missing Sec-WebSocket-Version → 426', { timeout: 15000 }, async () => {
    const res = await rawGet(server, '/ws/handshake', wsHeaders({ 'Sec-WebSocket-Version': undefined }))
    assert.equal(res.status, 426)
  })

  test('missing Sec-WebSocket-Key → 400', { timeout: 15000 }, async () => {
    const res = await rawGet(server, '/ws/handshake', wsHeaders({ 'Sec-WebSocket-Key': undefined }))
    assert.equal(res.status, 400)
  })

  test('malformed Sec-WebSocket-Key → 400', { timeout: 15000 }, async () => {
    for (const key of ['not-base64-at-all!!!!!!!', 'c2hvcnQ=', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      const res = await rawGet(server, '/ws/handshake', wsHeaders({ 'Sec-WebSocket-Key': key }))
      assert.equal(res.status, 400, `key ${JSON.stringify(key)}`)
    }
  })

  test('permessage-deflate offered → 101 without Sec-WebSocket-Extensions, and a client that offered it still syncs uncompressed', { timeout: 15000 }, async () => {
    const res = await rawGet(server, '/ws/deflate', wsHeaders({ 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' }))
    assert.equal(res.status, 101)
    assert.equal(res.headers['sec-websocket-extensions'], undefined, 'no extension negotiated')
    const room = roomName('deflate')
    const a = await connectProvider(server, room, { WebSocketPolyfill: class extends WebSocket { constructor (u, p) { super(u, p, { perMessageDeflate: true }) } } })
    try {
      assert.equal(a.provider.ws._extensions['permessage-deflate'], undefined, 'the ws client runs without it')
      a.doc.getText('t').insert(0, 'not compressed')
      await waitFor(async () => (await fetchDoc(server, room)).getText('t').toString() === 'not compressed', { message: 'stored' })
    } finally {
      a.destroy()
    }
  })

  test('plain GET /ws/x without upgrade → 400 or 426', { timeout: 15000 }, async () => {
    const res = await rawGet(server, '/ws/x')
    assert.ok(res.status === 400 || res.status === 426, `got ${res.status}`)
  })

  test('after all the bad handshakes the server still serves', { timeout: 15000 }, async () => {
    server.assertAlive()
    const room = roomName('after-handshakes')
    const a = await connectProvider(server, room)
    try {
      a.doc.getText('t').insert(0, 'fine')
      await waitFor(async () => (await fetchDoc(server, room)).getText('t').toString() === 'fine', { message: 'stored' })
    } finally {
      a.destroy()
    }
  })
})

// A frame header that declares a huge payload and sends none of it: refused
// from the header (1009) before anything is allocated for it.
describe('declared frame lengths past --max-message', () => {
  let server
  before(async () => { server = await startServer() })
  after(async () => { await server.stop() })

  const vmKB = (pid, field) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))[1])

  // Opens a WebSocket by hand, sends `frame`, and resolves the close code the
  // server sends (null if the socket ends without a close frame).
  function rawFrame (frame) {
    return withDeadline(new Promise((resolve, reject) => {
      const sock = net.connect(server.port, server.host, () => {
        sock.write(`GET /ws/${roomName('hugeframe')} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
      })
      let buf = Buffer.alloc(0)
      let upgraded = false
      sock.on('data', (b) => {
        buf = Buffer.concat([buf, b])
        if (!upgraded) {
          const end = buf.indexOf('\r\n\r\n')
          if (end < 0) return
          if (!buf.subarray(0, 12).toString().includes('101')) { sock.destroy(); reject(new Error(buf.toString())); return }
          upgraded = true
          buf = buf.subarray(end + 4)
          sock.write(frame)
        }
        // server frames are unmasked: find a close frame (0x88)
        for (let i = 0; i + 1 < buf.length;) {
          const op = buf[i] & 0x0f
          let len = buf[i + 1] & 0x7f
          let off = i + 2
          if (len === 126) { len = buf.readUInt16BE(off); off += 2 } else if (len === 127) { len = Number(buf.readBigUInt64BE(off)); off += 8 }
          if (off + len > buf.length) break
          if (op === 8) { sock.destroy(); resolve(len >= 2 ? buf.readUInt16BE(off) : 1005); return }
          i = off + len
        }
      })
      sock.on('error', () => {})
      sock.on('close', () => resolve(null))
    }), 10000, 'the server to answer a huge frame header')
  }

  test('a close frame with a 1-byte body → 1002 (RFC 6455 5.5.1)', { timeout: 20000 }, async () => {
    const f = Buffer.from([0x88, 0x81, 1, 2, 3, 4, 0x03 ^ 1]) // masked, one byte of body
    assert.equal(await rawFrame(f), 1002)
    server.assertAlive()
  })

  for (const [name, len] of [['2^31 - 2', 2n ** 31n - 2n], ['2^63 - 1', 2n ** 63n - 1n]]) {
    test(`a binary frame declaring ${name} bytes → 1009, no memory taken`, { timeout: 20000 }, async () => {
      const before = vmKB(server.pid, 'VmSize')
      const h = Buffer.alloc(14 + 1024) // the header and the first KiB of the payload
      h[0] = 0x82; h[1] = 0x80 | 127
      h.writeBigUInt64BE(len, 2)
      h.writeUInt32BE(0x01020304, 10) // mask key
      assert.equal(await rawFrame(h), 1009)
      const grown = vmKB(server.pid, 'VmSize') - before
      assert.ok(grown < 1024, `address space grew by ${grown} KB`)
      server.assertAlive()
    })
  }
})
