// Concurrent random editing and offline editing converge, and the server's
// stored copy equals what the clients hold.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServer } from './lib/server.mjs'
import {
  Y, connectProvider, destroyAll, waitFor, roomName, fetchDoc, waitStored, sameState, rng, randomEdit, sleep
} from './lib/yclient.mjs'

const CLIENTS = 4
const OPS = 200

describe('convergence', () => {
  let server
  before(async () => { server = await startServer() })
  after(async () => { await server.stop() })

  test(`${CLIENTS} clients × ${OPS} concurrent random edits converge`, { timeout: 90000 }, async () => {
    const room = roomName('conv')
    const clients = []
    try {
      for (let i = 0; i < CLIENTS; i++) clients.push(await connectProvider(server, room))
      // Edit concurrently, each client with its own seeded PRNG and small random pauses.
      await Promise.all(clients.map(async (c, i) => {
        const rand = rng(1000 + i)
        const text = c.doc.getText('t')
        for (let k = 0; k < OPS; k++) {
          randomEdit(text, rand, String.fromCharCode(65 + i))
          if (k % 3 === 0) c.doc.getMap('m').set(`c${i}`, k)
          if (rand() < 0.5) await sleep(Math.floor(rand() * 4))
        }
      }))
      const describeTexts = () => clients.map((c, i) => `#${i} len=${c.text().length}`).join(', ')
      await waitFor(() => clients.every((c) => sameState(c.doc, clients[0].doc)),
        { timeout: 30000, interval: 50, message: () => `all clients to reach the same state (${describeTexts()})` })

      const expected = clients[0].text()
      const expectedMap = clients[0].doc.getMap('m').toJSON()
      assert.ok(expected.length > 0, 'some text survives')
      const sv0 = Y.decodeStateVector(Y.encodeStateVector(clients[0].doc))
      for (const c of clients) {
        assert.deepEqual(Y.decodeStateVector(Y.encodeStateVector(c.doc)), sv0, 'equal state vectors')
        assert.deepEqual(c.doc.getMap('m').toJSON(), expectedMap)
      }
      assert.deepEqual(expectedMap, { c0: 198, c1: 198, c2: 198, c3: 198 })
      for (const [i, c] of clients.entries()) assert.deepEqual(c.closes, [], `client ${i} never disconnected`)

      // A fresh client gets the same.
      const fresh = await connectProvider(server, room)
      try {
        await waitFor(() => fresh.text() === expected, { timeout: 10000, message: () => `fresh client's text (len ${fresh.text().length}, want ${expected.length})` })
        assert.deepEqual(fresh.doc.getMap('m').toJSON(), expectedMap)
      } finally {
        fresh.destroy()
      }
      // And so does the stored document.
      const stored = await fetchDoc(server, room)
      assert.equal(stored.getText('t').toString(), expected, 'GET /api/docs/{doc}/update content')
      assert.deepEqual(stored.getMap('m').toJSON(), expectedMap)
      assert.deepEqual(Y.decodeStateVector(Y.encodeStateVector(stored)), sv0)
    } finally {
      destroyAll(clients)
    }
  })

  test('offline edits merge on reconnect', { timeout: 60000 }, async () => {
    const room = roomName('offline')
    const a = await connectProvider(server, room)
    const b = await connectProvider(server, room)
    try {
      a.doc.getText('t').insert(0, 'base.')
      await waitFor(() => b.text() === 'base.', { message: 'B to see the base text' })

      a.provider.disconnect()
      await waitFor(() => !a.provider.wsconnected && a.provider.ws === null, { message: 'A to disconnect' })
      a.doc.getText('t').insert(5, ' offline-a')
      a.doc.getMap('m').set('a', 'offline')
      b.doc.getText('t').insert(0, 'online-b ')
      b.doc.getMap('m').set('b', 'online')
      await sleep(200)
      assert.equal(b.text(), 'online-b base.', 'B must not see A\'s offline edit yet')

      a.provider.connect()
      await waitFor(() => sameState(a.doc, b.doc) && a.text().includes('offline-a') && a.text().includes('online-b'),
        { timeout: 15000, message: () => `A and B to converge: A="${a.text()}" B="${b.text()}"` })
      assert.equal(a.text(), 'online-b base. offline-a')
      assert.deepEqual(a.doc.getMap('m').toJSON(), { a: 'offline', b: 'online' })
      assert.deepEqual(b.doc.getMap('m').toJSON(), { a: 'offline', b: 'online' })

      // The server stored both sides.
      const stored = await waitStored(server, room, a.doc)
      assert.equal(stored.getText('t').toString(), 'online-b base. offline-a')
    } finally {
      destroyAll(a, b)
    }
  })
})
