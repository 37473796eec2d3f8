// --max-doc-size: a document whose content (text, values, keys and names of
// what is not deleted) reaches the limit takes deletions only. An update that
// adds structs is refused before it is applied (WebSocket: y-protocols
// permission denied, the connection stays open; HTTP: 422 with a JSON error),
// its deletions are applied on their own, and once deletions bring the
// document below the limit it takes content again at once, whatever its log
// and its tombstones hold (no compaction needed), and every WebSocket client
// it refused is asked for its edits again (a sync step 1), so they reach the
// room.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { startServer, makeDataDir, QUIRE_BIN } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import { Y, connectProvider, destroyAll, fetchDoc, waitFor, waitStored, roomName } from './lib/yclient.mjs'

const REASON = /^document too large: it takes deletions only \(--max-doc-size\)$/

async function post (server, doc, body) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/update`, { method: 'POST', body, signal: AbortSignal.timeout(15000) })
  const text = await res.text()
  let json = null
  try { json = JSON.parse(text) } catch {}
  return { status: res.status, text, json, retryAfter: res.headers.get('retry-after') }
}

async function text (server, doc) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/text?root=t`, { signal: AbortSignal.timeout(10000) })
  return res.status === 404 ? '' : res.text()
}

/** An update inserting s at the start of text 't', from a fresh client. */
function insertUpdate (s) {
  const d = new Y.Doc()
  d.getText('t').insert(0, s)
  return Y.encodeStateAsUpdate(d)
}

/** The update made by fn(doc) on a copy of the stored document. */
async function editStored (server, doc, fn) {
  const d = await fetchDoc(server, doc)
  const updates = []
  d.on('update', (u) => updates.push(u))
  d.transact(() => fn(d.getText('t')))
  assert.equal(updates.length, 1)
  return updates[0]
}

const rejected = (server) => metric(server, 'quire_messages_rejected_total', 'reason="too_large"')

for (const compact of [[], ['--compact-after', '0']]) {
  test(`a document over the limit, all deleted, takes content again at once, also after a restart (${compact.length ? '--compact-after 0' : 'default --compact-after'})`, { timeout: 90000 }, async () => {
    let server = await startServer({ args: ['--max-doc-size', '4K', ...compact] })
    const dataDir = server.dataDir
    const room = roomName('docsize-lock')
    try {
      // 5,000 characters: under the limit when they arrive, so stored
      assert.equal((await post(server, room, insertUpdate('a'.repeat(5000)))).status, 200)
      // now over it: an insert is refused with 422, nothing stored
      const updatesBefore = await metric(server, 'quire_store_updates_total')
      const r = await post(server, room, insertUpdate('b'))
      assert.equal(r.status, 422, r.text)
      assert.match(r.json.error, REASON)
      assert.equal(r.json.limit, 4096)
      assert.equal(r.json.stored, 0)
      assert.equal(r.retryAfter, null, 'only deletions make room: no use retrying')
      assert.equal(await metric(server, 'quire_store_updates_total'), updatesBefore, 'nothing stored')
      assert.equal(await text(server, room), 'a'.repeat(5000))
      assert.equal(await rejected(server), 1)

      // all of it deleted: the log still holds the 5,000 characters, and
      // with --compact-after 1000 (or 0) it is not compacted
      const del = await post(server, room, await editStored(server, room, (t) => t.delete(0, t.length)))
      assert.equal(del.status, 200, del.text)
      assert.equal(await text(server, room), '')

      // one character is accepted at once
      const c = await post(server, room, insertUpdate('c'))
      assert.equal(c.status, 200, c.text)
      assert.equal(await text(server, room), 'c')
      assert.equal(await metric(server, 'quire_store_compactions_total'), 0, 'no compaction was needed')

      // after a restart too, at once: the stored log is over the limit, the document is not
      await server.stop({ keepData: true })
      server = await startServer({ dataDir, args: ['--max-doc-size', '4K', ...compact] })
      const d = await post(server, room, insertUpdate('d'))
      assert.equal(d.status, 200, d.text)
      assert.equal((await text(server, room)).length, 2)
    } finally {
      await server.stop()
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })
}

test('a document of many small edits, all deleted, takes content again: tombstones do not count', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-doc-size', '4K'] })
  const room = roomName('docsize-tomb')
  try {
    // 5,000 characters typed one at a time at random places: 5,000 items,
    // whose ids stay behind as tombstones once deleted (their encoded state
    // stays far above 4 KiB: measured on it, the document was locked)
    const d = new Y.Doc()
    const t = d.getText('t')
    let seed = 7
    for (let i = 0; i < 5000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      t.insert(seed % (t.length + 1), String.fromCharCode(97 + (i % 26)))
    }
    assert.equal((await post(server, room, Y.encodeStateAsUpdate(d))).status, 200)
    assert.equal((await post(server, room, insertUpdate('b'))).status, 422)
    const del = await post(server, room, await editStored(server, room, (t) => t.delete(0, t.length)))
    assert.equal(del.status, 200, del.text)
    const stored = await fetchDoc(server, room)
    assert.ok(Y.encodeStateAsUpdate(stored).length > 4096 * 4, 'the tombstones alone are far over the limit')
    const c = await post(server, room, insertUpdate('c'))
    assert.equal(c.status, 200, c.text)
    assert.equal(await text(server, room), 'c')
  } finally {
    await server.stop()
  }
})

test('map keys and element names of deleted entries do not count: a document of them, all deleted, takes content again', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-doc-size', '4K'] })
  try {
    // (a) an id-keyed map: 150 values of 30 characters under 40-character keys
    const mroom = roomName('docsize-map')
    const m = new Y.Doc()
    m.transact(() => { for (let i = 0; i < 150; i++) m.getMap('store').set(`an-entry-of-an-id-keyed-store-${String(i).padStart(9, '0')}`, 'v'.repeat(30)) })
    assert.equal((await post(server, mroom, Y.encodeStateAsUpdate(m))).status, 200)
    assert.equal((await post(server, mroom, insertUpdate('b'))).status, 422)
    const md = await fetchDoc(server, mroom)
    const mu = []
    md.on('update', (u) => mu.push(u))
    md.transact(() => { for (const k of [...md.getMap('store').keys()]) md.getMap('store').delete(k) })
    assert.equal((await post(server, mroom, mu[0])).status, 200)
    assert.equal((await post(server, mroom, insertUpdate('c'))).status, 200, 'the keys left behind (6 KB) are not content')

    // (b) a ProseMirror-like fragment of 500 empty paragraphs: 4,500 bytes of element names
    const xroom = roomName('docsize-xml')
    const x = new Y.Doc()
    x.getXmlFragment('prosemirror').insert(0, Array.from({ length: 500 }, () => new Y.XmlElement('paragraph')))
    assert.equal((await post(server, xroom, Y.encodeStateAsUpdate(x))).status, 200)
    assert.equal((await post(server, xroom, insertUpdate('b'))).status, 422, 'the names are content while the elements live')
    const xd = await fetchDoc(server, xroom)
    const xu = []
    xd.on('update', (u) => xu.push(u))
    xd.getXmlFragment('prosemirror').delete(0, 500)
    assert.equal((await post(server, xroom, xu[0])).status, 200)
    assert.equal((await post(server, xroom, insertUpdate('c'))).status, 200, 'deleted elements take their names with them')
  } finally {
    await server.stop()
  }
})

test('a refused WebSocket client keeps its connection, and its edits reach the room once a deletion makes room', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-doc-size', '4K'] })
  const room = roomName('docsize-resync')
  let a, b
  try {
    a = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'a'.repeat(5000))
    await waitStored(server, room, a.doc)
    b = await connectProvider(server, room)
    assert.equal(b.text(), 'a'.repeat(5000))
    const denied = []
    b.provider.on('connection-close', () => denied.push('closed'))

    // b's insert is refused, and so is what it types after it
    b.doc.getText('t').insert(0, 'B!')
    await waitFor(async () => (await rejected(server)) === 1, { message: 'the first insert refused' })
    b.doc.getText('t').insert(b.doc.getText('t').length, 'C')
    await waitFor(async () => (await rejected(server)) === 2, { message: 'the second insert refused' })
    assert.equal(await text(server, room), 'a'.repeat(5000), 'nothing of b stored')
    assert.equal(a.text(), 'a'.repeat(5000), 'nothing of b relayed')
    assert.deepEqual(denied, [], 'the connection stays open')
    assert.equal(b.provider.wsconnected, true)

    // a deletes most of the document: below the limit, the room asks b for
    // its edits again, and they reach a and the store
    a.doc.getText('t').delete(0, 4000)
    const want = 'B!' + 'a'.repeat(1000) + 'C'
    await waitFor(() => a.text() === want, { message: () => `b's refused edits to reach a (a has ${a.text().length} characters)` })
    await waitFor(() => b.text() === want, { message: 'b to see the deletion' })
    await waitStored(server, room, a.doc)
    assert.equal(await text(server, room), want)
    assert.deepEqual(denied, [])

    // and b's next edit goes straight through
    b.doc.getText('t').insert(0, 'D')
    await waitFor(() => a.text() === 'D' + want, { message: "b's next edit to reach a" })
    assert.equal(await rejected(server), 2)
  } finally {
    destroyAll(a, b)
    await server.stop()
  }
})

test('an update that deletes and inserts: its deletions are applied, its insert refused (HTTP and WebSocket)', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-doc-size', '4K'] })
  const room = roomName('docsize-mixed')
  let a, b
  try {
    assert.equal((await post(server, room, insertUpdate('a'.repeat(5000)))).status, 200)
    a = await connectProvider(server, room)
    assert.equal(a.text().length, 5000)
    assert.equal((await post(server, room, insertUpdate('first'))).status, 422, 'over the limit')

    // HTTP: 422, and the deletion stored and relayed
    const mixed = await editStored(server, room, (t) => { t.delete(0, 100); t.insert(0, 'x') })
    const r = await post(server, room, mixed)
    assert.equal(r.status, 422, r.text)
    assert.match(r.json.error, REASON)
    assert.ok(r.json.stored > 0, `its deletions stored: ${r.text}`)
    assert.equal(await text(server, room), 'a'.repeat(4900), 'the deletion applied, the insert not')
    await waitFor(() => a.text() === 'a'.repeat(4900), { message: 'the deletion relayed' })

    // HTTP, from a client the document has never seen whose structs start
    // past its first clock (its clock-0 insert was never sent): the deletion
    // is still applied (Y.diffUpdate could not leave such structs out)
    const x = new Y.Doc()
    x.clientID = 31337
    x.getText('other').insert(0, 'never sent')
    Y.applyUpdate(x, Y.encodeStateAsUpdate(await fetchDoc(server, room)))
    const xs = []
    x.on('update', (u) => xs.push(u))
    x.transact(() => { const t = x.getText('t'); t.delete(0, 100); t.insert(0, 'q') })
    const rx = await post(server, room, xs[0])
    assert.equal(rx.status, 422, rx.text)
    assert.ok(rx.json.stored > 0, `its deletions stored: ${rx.text}`)
    assert.equal(await text(server, room), 'a'.repeat(4800))
    await waitFor(() => a.text() === 'a'.repeat(4800), { message: 'that deletion relayed' })

    // WebSocket: one transaction deleting and inserting, from a client whose
    // earlier insert was refused (its new structs start past clock 0, built
    // on the refused one)
    b = await connectProvider(server, room)
    const before = await rejected(server)
    b.doc.getText('t').insert(0, 'z')
    await waitFor(async () => (await rejected(server)) === before + 1, { message: "b's first insert refused" })
    b.doc.transact(() => { const t = b.doc.getText('t'); t.delete(1, 100); t.insert(1, 'y') })
    await waitFor(() => a.text() === 'a'.repeat(4700), { message: "b's deletion to reach a" })
    assert.equal(await rejected(server), before + 2)
    assert.equal(await text(server, room), 'a'.repeat(4700), 'the insert refused (the document is still over the limit)')
    assert.equal(b.provider.wsconnected, true)
  } finally {
    destroyAll(a, b)
    await server.stop()
  }
})

test('other documents are not affected by one over the limit', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-doc-size', '4K'] })
  const big = roomName('docsize-big')
  const small = roomName('docsize-small')
  let a
  try {
    assert.equal((await post(server, big, insertUpdate('a'.repeat(5000)))).status, 200)
    assert.equal((await post(server, big, insertUpdate('b'))).status, 422)
    a = await connectProvider(server, small)
    a.doc.getText('t').insert(0, 's'.repeat(3000))
    await waitStored(server, small, a.doc)
    const r = await post(server, small, insertUpdate('t'.repeat(500)))
    assert.equal(r.status, 200, r.text)
    await waitFor(() => a.text().length === 3500, { message: 'the HTTP write relayed' })
    assert.equal(await rejected(server), 1)
    assert.equal((await post(server, big, insertUpdate('c'))).status, 422, 'the big one is still over')
  } finally {
    destroyAll(a)
    await server.stop()
  }
})

test('a warning at a quarter of the limit, once per crossing', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-doc-size', '8K'] })
  const room = roomName('docsize-warn')
  const count = (re) => server.stderr.split('\n').filter((l) => re.test(l) && l.includes(room)).length
  const WARN = /past a quarter of --max-doc-size \(8192\)/
  const AT = /at --max-doc-size \(8192\): it takes deletions only/
  const BELOW = /below a quarter of --max-doc-size again/
  try {
    assert.equal((await post(server, room, insertUpdate('a'.repeat(3000)))).status, 200)
    await waitFor(() => count(WARN) === 1, { message: 'the warning' })
    // more writes past the warning level and up to the limit: no second warning
    for (let i = 0; i < 6; i++) assert.equal((await post(server, room, insertUpdate('b'.repeat(1000)))).status, 200)
    await waitFor(() => count(AT) === 1, { message: 'the limit logged' })
    assert.equal(count(WARN), 1)
    // below it again, then past it again: warned again
    assert.equal((await post(server, room, await editStored(server, room, (t) => t.delete(0, t.length)))).status, 200)
    await waitFor(() => count(BELOW) === 1, { message: 'back below a quarter' })
    assert.equal((await post(server, room, insertUpdate('c'.repeat(3000)))).status, 200)
    await waitFor(() => count(WARN) === 2, { message: 'the second warning' })
    assert.equal(count(AT), 1)
  } finally {
    await server.stop()
  }
})

test('--max-doc-size 0 means no limit; bad values stop the server with exit status 2', { timeout: 60000 }, async () => {
  const help = spawnSync(QUIRE_BIN, ['serve', '--help'], { encoding: 'utf8', timeout: 10000 })
  assert.match(help.stdout, /--max-doc-size BYTES[\s\S]*\(256M\) \[QUIRE_MAX_DOC_SIZE\]/)

  const server = await startServer({ args: ['--max-doc-size', '0'] })
  const room = roomName('docsize-off')
  try {
    assert.equal((await post(server, room, insertUpdate('x'.repeat(300000)))).status, 200)
    assert.equal((await post(server, room, insertUpdate('more'))).status, 200)
  } finally {
    await server.stop()
  }
  const run = (args, env = {}) => {
    const dir = makeDataDir()
    const r = spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--allow-anonymous', ...args],
      { encoding: 'utf8', timeout: 10000, env: { ...process.env, ...env } })
    fs.rmSync(dir, { recursive: true, force: true })
    return r
  }
  for (const value of ['-1', 'x', '1Q', '', '2T', '1.5M', '99999999999999999999']) {
    const r = run(['--max-doc-size', value])
    assert.equal(r.status, 2, `${value}: ${r.stderr}`)
    assert.ok(r.stderr.includes(`invalid value '${value}' for --max-doc-size`), r.stderr)
  }
  const r = run([], { QUIRE_MAX_DOC_SIZE: 'lots' })
  assert.equal(r.status, 2, r.stderr)
  assert.ok(r.stderr.includes("invalid value 'lots' for QUIRE_MAX_DOC_SIZE"), r.stderr)
})
