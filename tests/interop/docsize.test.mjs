// --max-doc-size: once a document's stored log holds that many bytes, updates
// that add structs are refused (WebSocket: y-protocols "permission denied",
// the connection stays; HTTP: 422), while deletions go through; once
// compaction shrinks the log below the limit, content is taken again.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { startServer, makeDataDir, QUIRE_BIN } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import { Y, connectProvider, destroyAll, fetchDoc, waitFor, waitStored, roomName, sleep } from './lib/yclient.mjs'

async function post (server, doc, body) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/update`, { method: 'POST', body, signal: AbortSignal.timeout(15000) })
  return { status: res.status, text: await res.text() }
}

async function text (server, doc) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/text?root=t`, { signal: AbortSignal.timeout(10000) })
  return res.text()
}

test('past --max-doc-size a document takes deletions only; after compaction it takes content again', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--max-doc-size', '4K', '--compact-after', '1'] })
  const room = roomName('docsize')
  let a, b
  try {
    a = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'a'.repeat(5000)) // under the limit when it arrives: stored
    await waitStored(server, room, a.doc)
    const rejected = () => metric(server, 'quire_messages_rejected_total', 'reason="too_large"')
    assert.equal(await rejected(), 0)

    // over it now: a WebSocket insert is refused, the connection stays
    const denied = []
    a.provider.on('connection-close', () => denied.push('closed'))
    a.doc.getText('t').insert(0, 'b')
    await waitFor(async () => (await rejected()) === 1, { message: 'the insert refused' })
    await sleep(200)
    assert.equal((await text(server, room)).length, 5000, 'nothing stored')
    assert.deepEqual(denied, [], 'the connection stays open')
    assert.equal(a.provider.wsconnected, true)
    b = await connectProvider(server, room)
    assert.equal(b.text(), 'a'.repeat(5000), 'a newcomer does not get the refused insert')

    // over HTTP: 422 with the reason
    const w = new Y.Doc()
    w.getText('t').insert(0, 'http')
    const r = await post(server, room, Y.encodeStateAsUpdate(w))
    assert.equal(r.status, 422, r.text)
    assert.match(r.text, /document too large: it takes deletions only/)
    assert.equal(await rejected(), 2)

    // a deletion goes through, and the compaction after it shrinks the log
    const d = await fetchDoc(server, room)
    const dels = []
    d.on('update', (u) => dels.push(u))
    d.getText('t').delete(0, 5000)
    assert.equal((await post(server, room, dels[0])).status, 200)
    assert.equal(await text(server, room), '')
    await waitFor(() => b.text() === '', { message: 'the deletion relayed' })

    // below the limit again: content is taken
    const again = await post(server, room, Y.encodeStateAsUpdate(w))
    assert.equal(again.status, 200, again.text)
    assert.equal(await text(server, room), 'http')
    assert.ok((await metric(server, 'quire_store_compactions_total')) >= 1)
  } finally {
    destroyAll(a, b)
    await server.stop()
  }
})

test('--max-doc-size 0 means no limit; bad values stop the server with exit status 2', async () => {
  const server = await startServer({ args: ['--max-doc-size', '0'] })
  const room = roomName('docsize-off')
  try {
    const w = new Y.Doc()
    w.getText('t').insert(0, 'x'.repeat(200000))
    assert.equal((await post(server, room, Y.encodeStateAsUpdate(w))).status, 200)
    const v = new Y.Doc()
    v.getText('t').insert(0, 'more')
    assert.equal((await post(server, room, Y.encodeStateAsUpdate(v))).status, 200)
  } finally {
    await server.stop()
  }
  for (const value of ['-1', 'x', '1Q', '']) {
    const dir = makeDataDir()
    const r = spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--allow-anonymous', '--max-doc-size', value],
      { encoding: 'utf8', timeout: 10000 })
    fs.rmSync(dir, { recursive: true, force: true })
    assert.equal(r.status, 2, `${value}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`invalid value '${value}' for --max-doc-size`))
  }
})
