// What the rooms' documents hold (quire_doc_bytes), and the trim a room's
// document gets once it has taken no update for 2 s (qc_doc_trim: the slack of
// its growing arrays and the bytes of deleted text go back).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startServer } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import { Y, connectProvider, destroyAll, waitFor, waitStored, roomName } from './lib/yclient.mjs'

test('quire_doc_bytes counts the documents in memory and falls when a quiet room trims its document; the content stays', { timeout: 120000 }, async () => {
  const server = await startServer()
  const room = roomName('trim')
  const clients = []
  try {
    assert.equal(await metric(server, 'quire_doc_bytes'), 0, 'no room open: nothing held')
    const a = await connectProvider(server, room)
    clients.push(a)
    const text = a.doc.getText('t')
    // typing with backspaces and jumps: the server's document grows its
    // arrays and keeps deleted text until it trims
    for (let i = 0; i < 3000; i++) {
      const at = (i * 7919) % (text.length + 1)
      text.insert(at, 'abcdefgh')
      if (i % 3 === 0) text.delete(at, 5)
    }
    await waitStored(server, room, a.doc, 60000)
    // An insert in the middle adds an item to a trimmed document, whose item
    // array then grows by half; within 2 s of it the room trims again. One
    // attempt can miss the untrimmed state if this process stalls for 2 s
    // between the insert and the read, so a few are allowed.
    let seen = null
    for (let attempt = 0; attempt < 5 && !seen; attempt++) {
      text.insert(1, 'x')
      await waitStored(server, room, a.doc, 20000)
      const grown = await metric(server, 'quire_doc_bytes')
      assert.ok(grown > 0, 'an open room holds its document')
      let trimmed = null
      try {
        await waitFor(async () => {
          trimmed = await metric(server, 'quire_doc_bytes')
          return trimmed * 10 < grown * 9
        }, { timeout: 8000, interval: 200, message: 'quire_doc_bytes to fall' })
        seen = { grown, trimmed }
      } catch { /* read after the trim: try again */ }
    }
    assert.ok(seen, 'quire_doc_bytes fell by a tenth or more once the room was quiet')
    // the trimmed document is the same: a new client syncs to the same text
    const b = await connectProvider(server, room)
    clients.push(b)
    assert.equal(b.doc.getText('t').toString(), text.toString())
    assert.deepEqual(Y.encodeStateVector(b.doc), Y.encodeStateVector(a.doc))
    // and it takes edits again: the second client's insert reaches the first
    b.doc.getText('t').insert(0, '!')
    await waitFor(() => text.toString() === b.doc.getText('t').toString(), { message: 'the edit after the trim to arrive' })
    assert.equal(text.toString()[0], '!')
  } finally {
    destroyAll(clients)
    await server.stop()
  }
})
