// Messages at the edges of the transport's limits: a document larger than
// --max-queue must still reach members and newcomers (one message may exceed
// the queue limit), and a message sent in more than 16,384 fragments is
// closed with 1009 before wslay buffers them all.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startServer } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import {
  Y, connectProvider, destroyAll, encUpdate, fetchDoc, openRaw, roomName, waitFor, waitStored, withDeadline
} from './lib/yclient.mjs'

test('a document larger than --max-queue reaches a member and a newcomer, who stay connected', { timeout: 120000 }, async () => {
  const server = await startServer({ args: ['--max-queue', '1M'] })
  const room = roomName('bigdoc')
  let writer, member, newcomer
  try {
    writer = await connectProvider(server, room)
    member = await connectProvider(server, room)
    // one transaction: a 3 MB update, relayed to the member as one message
    const big = 'abcdefghij'.repeat(300 * 1024)
    writer.doc.getText('t').insert(0, big)
    await waitFor(() => member.text().length === big.length, {
      timeout: 30000, message: () => `the member to get 3 MB (has ${member.text().length}, closes ${JSON.stringify(member.closes)})`
    })
    await waitStored(server, room, writer.doc, 30000)
    // a newcomer's sync step 2 is the whole document, 3 MB in one message
    newcomer = await connectProvider(server, room, { timeout: 30000 })
    assert.equal(newcomer.text(), big, 'the newcomer synced the whole document')
    // and small edits keep flowing to both
    writer.doc.getText('t').insert(0, 'after ')
    await waitFor(() => member.text().startsWith('after ') && newcomer.text().startsWith('after '), {
      timeout: 10000, message: 'the next edit to reach the member and the newcomer'
    })
    assert.deepEqual(member.closes, [], 'the member was never closed')
    assert.deepEqual(newcomer.closes, [], 'the newcomer was never closed')
    assert.equal(await metric(server, 'quire_slow_consumers_closed_total'), 0)
  } finally {
    destroyAll(writer, member, newcomer)
    await server.stop()
  }
})

// One y-protocols update message (sync, update) inserting `text` as client 77
function updateMessage (text) {
  const src = new Y.Doc(); src.clientID = 77
  src.getText('t').insert(0, text)
  return Buffer.from(encUpdate(Y.encodeStateAsUpdate(src)))
}

// Sends msg as one WebSocket message in `frames` fragments.
function sendFragmented (raw, msg, frames) {
  const size = Math.ceil(msg.length / frames)
  for (let off = 0; off < msg.length; off += size) {
    const last = off + size >= msg.length
    raw.ws.send(msg.subarray(off, Math.min(off + size, msg.length)), { binary: true, fin: last })
  }
}

test('a message in more than 16,384 fragments is closed with 1009 and nothing of it is stored; other rooms are unaffected', { timeout: 60000 }, async () => {
  const server = await startServer()
  const room = roomName('frag')
  const other = roomName('fragother')
  let bystander
  try {
    bystander = await connectProvider(server, other)
    const raw = await openRaw(server, room)
    await raw.next()
    const msg = updateMessage('z'.repeat(20000))
    assert.ok(msg.length > 16384 && msg.length < 30000)
    sendFragmented(raw, msg, msg.length) // one byte per frame
    const info = await withDeadline(raw.closed, 20000, 'the close after too many fragments')
    assert.equal(info.code, 1009, `close code (got ${info.code} "${info.reason}")`)
    assert.equal(await metric(server, 'quire_fragment_closes_total'), 1)
    assert.equal((await fetchDoc(server, room)).getText('t').length, 0, 'nothing of it was stored')
    // the other room goes on
    bystander.doc.getText('t').insert(0, 'still here')
    await waitStored(server, other, bystander.doc)
    assert.deepEqual(bystander.closes, [])
  } finally {
    destroyAll(bystander)
    await server.stop()
  }
})

test('a message in a few hundred fragments is accepted and stored', { timeout: 30000 }, async () => {
  const server = await startServer()
  const room = roomName('fragok')
  try {
    const raw = await openRaw(server, room)
    await raw.next()
    const text = 'w'.repeat(20000)
    sendFragmented(raw, updateMessage(text), 300)
    await waitFor(async () => (await fetchDoc(server, room)).getText('t').toString() === text, {
      timeout: 10000, message: 'the fragmented update to be stored'
    })
    assert.equal(raw.closeInfo, null, 'still connected')
    assert.equal(await metric(server, 'quire_fragment_closes_total'), 0)
    raw.close()
  } finally {
    await server.stop()
  }
})
