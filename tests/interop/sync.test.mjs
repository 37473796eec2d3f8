// Basic sync with real y-websocket clients, the raw handshake bytes, the HTTP
// document API and room isolation.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServer } from './lib/server.mjs'
import {
  Y, connectProvider, destroyAll, openRaw, waitFor, roomName, decodeMessage, hex,
  encSyncStep1, fetchDocUpdate, fetchDoc, waitStored, MSG_SYNC, SYNC_STEP1, SYNC_STEP2
} from './lib/yclient.mjs'

describe('sync', () => {
  let server
  before(async () => { server = await startServer() })
  after(async () => { await server.stop() })

  test('a client that joins later receives earlier edits', { timeout: 30000 }, async () => {
    const room = roomName('basic')
    const a = await connectProvider(server, room)
    let b
    try {
      a.doc.getText('t').insert(0, 'hello from a')
      a.doc.getMap('m').set('k', 42)
      // Wait until the server has it stored, then join with B.
      await waitStored(server, room, a.doc)
      b = await connectProvider(server, room)
      await waitFor(() => b.text() === 'hello from a', { timeout: 10000, message: () => `B's text (now ${JSON.stringify(b.text())})` })
      assert.equal(b.doc.getMap('m').get('k'), 42)

      // And live edits flow both ways.
      b.doc.getText('t').insert(0, '>> ')
      await waitFor(() => a.text() === '>> hello from a', { message: () => `A to see B's edit (A has ${JSON.stringify(a.text())})` })
      a.doc.getText('t').insert(a.text().length, ' <<')
      await waitFor(() => b.text() === '>> hello from a <<', { message: () => `B to see A's edit (B has ${JSON.stringify(b.text())})` })
      assert.deepEqual(a.closes, [], 'A was never disconnected')
      assert.deepEqual(b.closes, [], 'B was never disconnected')
    } finally {
      destroyAll(a, b)
    }
  })

  // The server frames messages itself: lengths under 126, up to 65535 (16-bit) and beyond
  // (64-bit) must all reach a real y-websocket client intact, also in one burst.
  for (const size of [100, 300, 70000, 300000]) {
    test(`a newcomer receives a ${size}-character document, and a burst of edits, intact`, { timeout: 30000 }, async () => {
      const room = roomName(`frame${size}`)
      const a = await connectProvider(server, room)
      let b
      try {
        const chars = Array.from('abcdefghij😀') // code points: the emoji is 2 UTF-16 units, 4 UTF-8 bytes
        const text = Array.from({ length: size }, (_, i) => chars[i % chars.length]).join('')
        a.doc.getText('t').insert(0, text)
        await waitStored(server, room, a.doc)
        b = await connectProvider(server, room)
        await waitFor(() => b.text() === text, { timeout: 15000, message: () => `B's text (${b.text().length} of ${text.length} units)` })
        // 200 small updates sent back to back are batched into few writes by the server
        for (let i = 0; i < 200; i++) a.doc.getText('t').insert(i, String(i % 10))
        await waitFor(() => b.text() === a.text(), { timeout: 15000, message: () => `B to get the burst (${b.text().length} vs ${a.text().length})` })
        assert.deepEqual(b.closes, [], 'B was never disconnected')
      } finally {
        destroyAll(a, b)
      }
    })
  }

  test('server sends sync step 1 first and answers step 1 with step 2 (raw bytes)', { timeout: 30000 }, async () => {
    const room = roomName('raw')
    // Empty doc: the very first message is exactly 00 00 01 00 (step1, empty state vector).
    const c1 = await openRaw(server, room)
    try {
      const first = await c1.next()
      assert.equal(hex(first), '00 00 01 00', `first message on an empty doc, got ${hex(first)}`)
      // Our step 1 (empty SV) is answered with step 2 carrying an (empty) update.
      c1.send(encSyncStep1(new Uint8Array([0])))
      const reply = decodeMessage(await c1.nextMatching((m) => m[0] === MSG_SYNC && m[1] === SYNC_STEP2, 5000, 'sync step 2'))
      const d = new Y.Doc()
      Y.applyUpdate(d, reply.payload)
      assert.equal(d.getText('t').toString(), '')
    } finally {
      c1.close()
    }

    // Non-empty doc: the first message is step 1 with the server's state vector.
    const a = await connectProvider(server, room)
    const c2 = await openRaw(server, room).catch((e) => { a.destroy(); throw e })
    try {
      a.doc.getText('t').insert(0, 'abc')
      await waitStored(server, room, a.doc)
      const c3 = await openRaw(server, room)
      try {
        const first = await c3.next()
        const m = decodeMessage(first)
        assert.equal(m.type, MSG_SYNC, `first message type, got ${hex(first)}`)
        assert.equal(m.syncType, SYNC_STEP1, `first message must be sync step 1, got ${hex(first)}`)
        assert.deepEqual(Y.decodeStateVector(m.payload), Y.decodeStateVector(Y.encodeStateVector(a.doc)))
        // Step 1 with an empty SV → step 2 with everything.
        c3.send(encSyncStep1(new Uint8Array([0])))
        const reply = decodeMessage(await c3.nextMatching((x) => x[0] === MSG_SYNC && x[1] === SYNC_STEP2, 5000, 'sync step 2'))
        const d = new Y.Doc()
        Y.applyUpdate(d, reply.payload)
        assert.equal(d.getText('t').toString(), 'abc')
        // Step 1 with the full SV → step 2 that adds nothing.
        c3.send(encSyncStep1(Y.encodeStateVector(a.doc)))
        const reply2 = decodeMessage(await c3.nextMatching((x) => x[0] === MSG_SYNC && x[1] === SYNC_STEP2, 5000, 'second sync step 2'))
        const d2 = new Y.Doc()
        Y.applyUpdate(d2, reply2.payload)
        assert.equal(d2.getText('t').toString(), '', 'step 2 against a full SV must carry no content')
      } finally {
        c3.close()
      }
    } finally {
      c2.close()
      a.destroy()
    }
  })

  test('a raw client receives other clients\' updates as sync messages', { timeout: 30000 }, async () => {
    const room = roomName('relay')
    const raw = await openRaw(server, room)
    const a = await connectProvider(server, room)
    try {
      await raw.drain(100)
      a.doc.getText('t').insert(0, 'relayed')
      const shadow = new Y.Doc()
      await waitFor(async () => {
        while (raw.cursor < raw.messages.length) {
          const m = decodeMessage(raw.messages[raw.cursor++])
          if (m.type === MSG_SYNC && m.syncType !== SYNC_STEP1) Y.applyUpdate(shadow, m.payload)
        }
        return shadow.getText('t').toString() === 'relayed'
      }, { message: () => `raw client to receive the update (has ${JSON.stringify(shadow.getText('t').toString())})` })
    } finally {
      raw.close()
      a.destroy()
    }
  })

  test('HTTP document API: /update, /sv and 404 for a never-written doc', { timeout: 30000 }, async () => {
    const room = roomName('http')
    assert.equal(await fetchDocUpdate(server, room), null, 'never-written doc must be 404')
    const svMissing = await fetch(`${server.httpUrl}/api/docs/${room}/sv`)
    await svMissing.arrayBuffer()
    assert.equal(svMissing.status, 404, 'GET /sv of a never-written doc')

    const a = await connectProvider(server, room)
    try {
      a.doc.getText('t').insert(0, 'via http')
      a.doc.getArray('arr').push([1, 'two', { three: 3 }])
      const doc = await waitStored(server, room, a.doc)
      assert.equal(doc.getText('t').toString(), 'via http')
      assert.deepEqual(doc.getArray('arr').toJSON(), [1, 'two', { three: 3 }])

      const res = await fetch(`${server.httpUrl}/api/docs/${room}/update`)
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') || '', /application\/octet-stream/)
      await res.arrayBuffer()

      const sv = await fetch(`${server.httpUrl}/api/docs/${room}/sv`)
      assert.equal(sv.status, 200)
      const svBytes = new Uint8Array(await sv.arrayBuffer())
      assert.deepEqual(Y.decodeStateVector(svBytes), Y.decodeStateVector(Y.encodeStateVector(a.doc)))
    } finally {
      a.destroy()
    }
  })

  test('HTTP document API: /text and /json read the document as Yjs does', { timeout: 30000 }, async () => {
    const room = roomName('httptext')
    const get = async (q) => {
      const res = await fetch(`${server.httpUrl}/api/docs/${room}/${q}`, { signal: AbortSignal.timeout(10000) })
      return { status: res.status, type: res.headers.get('content-type') || '', body: await res.text() }
    }
    for (const q of ['text', 'json']) assert.equal((await get(q)).status, 404, `GET /${q} of a never-written doc`)

    const a = await connectProvider(server, room)
    try {
      // the editor's root, with formatting, an embed and astral characters
      const editor = a.doc.getText('codemirror')
      editor.insert(0, 'héllo 😀 wörld')
      editor.format(0, 5, { bold: true })
      editor.insertEmbed(6, { image: 'x.png' })
      a.doc.getText('notes').insert(0, 'a second text')
      a.doc.getMap('meta').set('title', 'Page')
      a.doc.getMap('meta').set('tags', ['a', { b: 2 }])
      a.doc.getArray('list').push([1, 'two', null])
      await waitStored(server, room, a.doc)

      const text = await get('text')
      assert.equal(text.status, 200)
      assert.match(text.type, /^text\/plain; charset=utf-8/)
      assert.equal(text.body, editor.toString(), 'the editor root, formatting and embeds left out as toString() does')
      assert.equal((await get('text?root=notes')).body, 'a second text')
      assert.equal((await get(`text?root=${encodeURIComponent('no such root')}`)).body, '', 'an absent root is empty')

      const json = await get('json')
      assert.equal(json.status, 200)
      assert.match(json.type, /^application\/json/)
      assert.deepEqual(JSON.parse(json.body), {
        codemirror: editor.toJSON(),
        notes: 'a second text',
        meta: a.doc.getMap('meta').toJSON(),
        list: a.doc.getArray('list').toJSON()
      })
      assert.deepEqual(JSON.parse((await get('json?root=meta')).body), { title: 'Page', tags: ['a', { b: 2 }] })
      const params = new URLSearchParams({ root: 'list' })
      assert.deepEqual(JSON.parse((await get(`json?${params}`)).body), [1, 'two', null])
      // form encoding ('+' is a space), other parameters and look-alike keys ignored
      a.doc.getText('my notes+').insert(0, 'spaced')
      const long = 'é'.repeat(512) // 1,024 bytes, 3,072 characters percent-encoded
      a.doc.getText(long).insert(0, 'long name')
      await waitStored(server, room, a.doc)
      assert.equal((await get(`text?${new URLSearchParams({ x: '1', root: 'my notes+' })}`)).body, 'spaced')
      assert.equal((await get('text?rooted=notes')).body, editor.toString(), '"rooted" is not "root"')
      assert.equal((await get(`text?root=${encodeURIComponent(long)}`)).body, 'long name')

      // bad ?root=: refused with 400 and a reason
      for (const q of ['text?root=', 'text?root', 'text?root=%zz', 'text?root=a&root=b', 'json?root=%00', `text?root=${'r'.repeat(1025)}`, `text?root=${encodeURIComponent(long + 'e')}`]) {
        const r = await get(q)
        assert.equal(r.status, 400, `GET /${q.slice(0, 40)} must be refused`)
        assert.match(r.body, /bad \?root=/)
      }
      assert.equal((await get('texts')).status, 404)
    } finally {
      a.destroy()
    }
  })

  test('rooms are isolated', { timeout: 30000 }, async () => {
    const r1 = roomName('iso1')
    const r2 = roomName('iso2')
    const a1 = await connectProvider(server, r1)
    const b1 = await connectProvider(server, r1)
    const a2 = await connectProvider(server, r2)
    const b2 = await connectProvider(server, r2)
    try {
      a1.doc.getText('t').insert(0, 'one')
      a2.doc.getText('t').insert(0, 'two')
      await waitFor(() => b1.text() === 'one' && b2.text() === 'two',
        { message: () => `b1="${b1.text()}" b2="${b2.text()}"` })
      // Give stray cross-room traffic a chance to show up.
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(b1.text(), 'one')
      assert.equal(b2.text(), 'two')
      assert.equal(a1.text(), 'one')
      assert.equal(a2.text(), 'two')
      assert.equal((await fetchDoc(server, r1)).getText('t').toString(), 'one')
      assert.equal((await fetchDoc(server, r2)).getText('t').toString(), 'two')
      // A room nobody wrote to stays unwritten.
      assert.equal(await fetchDocUpdate(server, roomName('iso3')), null)
    } finally {
      destroyAll(a1, b1, a2, b2)
    }
  })
})
