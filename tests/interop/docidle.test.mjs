// --doc-idle-timeout: a room's document that no update, join or sync has used
// for that long is unloaded from memory while its room stays open, with its
// clients connected (presence goes on without it), and loaded again from the
// store at its next use. A document holding what the store does not (structs
// waiting for a missing dependency) stays loaded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { startServer, makeDataDir, QUIRE_BIN } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import { Y, connectProvider, destroyAll, waitFor, waitStored, roomName } from './lib/yclient.mjs'

const IDLE = ['--doc-idle-timeout', '1']

async function getText (server, doc, root = 't') {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/text?root=${root}`, { signal: AbortSignal.timeout(10000) })
  return { status: res.status, text: await res.text() }
}

async function post (server, doc, body) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/update`, {
    method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' }, signal: AbortSignal.timeout(15000)
  })
  return { status: res.status, text: await res.text() }
}

/** Waits until the room's document has been unloaded `count` times in all. */
async function waitUnloaded (server, count) {
  await waitFor(async () => (await metric(server, 'quire_doc_unloads_total')) >= count &&
    (await metric(server, 'quire_docs_loaded')) === 0, { timeout: 15000, interval: 100, message: `unload #${count}` })
  assert.equal(await metric(server, 'quire_doc_bytes'), 0, 'an unloaded document holds nothing')
  assert.equal(await metric(server, 'quire_rooms'), 1, 'the room stays open')
}

test('an unused document is unloaded with its clients connected; a join, an update and presence work on; ' +
  'reads come from the store without loading it', { timeout: 120000 }, async () => {
  const server = await startServer({ args: IDLE })
  const room = roomName('docidle')
  let a, b
  try {
    a = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'hello')
    await waitStored(server, room, a.doc)
    assert.equal(await metric(server, 'quire_docs_loaded'), 1)
    await waitUnloaded(server, 1)

    // a newcomer's join loads it again, and gets everything
    b = await connectProvider(server, room)
    assert.equal(b.text(), 'hello')
    assert.equal(await metric(server, 'quire_docs_loaded'), 1, 'the join loaded the document')
    await waitUnloaded(server, 2)

    // presence needs no document
    a.awareness.setLocalStateField('cursor', { anchor: 3 })
    await waitFor(() => b.awareness.getStates().get(a.doc.clientID)?.cursor?.anchor === 3, { message: 'presence relayed' })
    assert.equal(await metric(server, 'quire_docs_loaded'), 0, 'presence did not load the document')

    // an update loads it, is stored and relayed
    a.doc.getText('t').insert(5, ' world')
    await waitFor(() => b.text() === 'hello world', { message: 'the update relayed after the reload' })
    await waitStored(server, room, a.doc)
    await waitUnloaded(server, 3)

    // the HTTP API reads an unloaded document from the store, and leaves it unloaded
    assert.deepEqual(await getText(server, room), { status: 200, text: 'hello world' })
    assert.equal(await metric(server, 'quire_docs_loaded'), 0)

    // a client that edited while it was away syncs with the reloaded document
    b.provider.disconnect()
    b.doc.getText('t').insert(0, '> ')
    b.provider.connect()
    await waitFor(() => a.text() === '> hello world', { message: 'the offline edit reaches the other client' })
    await waitStored(server, room, b.doc)
    assert.ok((await metric(server, 'quire_doc_reloads_total')) === 0, 'no failure reload')
  } finally {
    destroyAll(a, b)
    await server.stop()
  }
})

test('a document holding structs that wait for a missing dependency stays loaded until they integrate', { timeout: 60000 }, async () => {
  const server = await startServer({ args: IDLE })
  const room = roomName('docidle-pending')
  let p
  try {
    p = await connectProvider(server, room)
    const w = new Y.Doc()
    w.clientID = 4242
    const ups = []
    w.on('update', (u) => ups.push(u))
    w.getText('t').insert(0, 'ab')
    w.getText('t').insert(2, 'cd')
    const held = await post(server, room, ups[1])
    assert.equal(held.status, 202, held.text)
    // well past the timeout: the pending structs are in memory only
    await new Promise((resolve) => setTimeout(resolve, 3000))
    assert.equal(await metric(server, 'quire_docs_loaded'), 1, 'kept loaded while it holds pending structs')
    assert.equal(await metric(server, 'quire_doc_unloads_total'), 0)
    const ok = await post(server, room, ups[0])
    assert.equal(ok.status, 200, ok.text)
    await waitFor(() => p.text() === 'abcd', { message: 'both updates relayed' })
    await waitUnloaded(server, 1)
    assert.deepEqual(await getText(server, room), { status: 200, text: 'abcd' })
  } finally {
    destroyAll(p)
    await server.stop()
  }
})

test('loading an unloaded document again takes one of the address\'s --room-opens-per-ip, like opening its room', { timeout: 60000 }, async () => {
  const server = await startServer({ args: [...IDLE, '--room-opens-per-ip', '2'] })
  const room = roomName('docidle-budget')
  let a, b
  try {
    a = await connectProvider(server, room) // opens the room: 1 of 2
    a.doc.getText('t').insert(0, 'x')
    await waitStored(server, room, a.doc)
    await waitUnloaded(server, 1)
    b = await connectProvider(server, room) // loads the document again: 2 of 2
    assert.equal(b.text(), 'x')
    await waitUnloaded(server, 2)
    // the budget is spent: a third load is refused before anything is loaded
    const res = await fetch(`${server.httpUrl}/api/docs/${room}/update`, {
      method: 'POST', body: Y.encodeStateAsUpdate(a.doc), signal: AbortSignal.timeout(10000)
    })
    assert.equal(res.status, 429, await res.text())
    assert.equal(await metric(server, 'quire_docs_loaded'), 0, 'not loaded for a refused request')
    assert.equal(await metric(server, 'quire_ip_refused_total', 'limit="room_opens"'), 1)
  } finally {
    destroyAll(a, b)
    await server.stop()
  }
})

test('--doc-idle-timeout 0 keeps documents loaded; bad values stop the server with exit status 2', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--doc-idle-timeout', '0'] })
  const room = roomName('docidle-never')
  let a
  try {
    a = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'kept')
    await waitStored(server, room, a.doc)
    await new Promise((resolve) => setTimeout(resolve, 2500))
    assert.equal(await metric(server, 'quire_docs_loaded'), 1)
    assert.equal(await metric(server, 'quire_doc_unloads_total'), 0)
  } finally {
    destroyAll(a)
    await server.stop()
  }
  for (const value of ['-1', 'x', '86401', '1.5', '']) {
    const dir = makeDataDir()
    const r = spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--allow-anonymous', '--doc-idle-timeout', value],
      { encoding: 'utf8', timeout: 10000 })
    fs.rmSync(dir, { recursive: true, force: true })
    assert.equal(r.status, 2, `${value}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`invalid value '${value.replace('.', '\\.')}' for --doc-idle-timeout`))
  }
})
