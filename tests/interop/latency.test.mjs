// quire_update_latency_seconds: every stored update, by WebSocket or HTTP, is
// observed once, from its arrival to its relay after the durable commit;
// duplicates and refused updates are not. The buckets are cumulative and end
// with +Inf = _count.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startServer } from './lib/server.mjs'
import { Y, connectProvider, destroyAll, waitFor, roomName } from './lib/yclient.mjs'

async function histogram (server) {
  const res = await fetch(`${server.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })
  const body = await res.text()
  const buckets = []
  let sum = null
  let count = null
  for (const line of body.split('\n')) {
    let m = line.match(/^quire_update_latency_seconds_bucket\{le="([^"]+)"\} (\d+)$/)
    if (m) buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])])
    m = line.match(/^quire_update_latency_seconds_sum (\S+)$/)
    if (m) sum = Number(m[1])
    m = line.match(/^quire_update_latency_seconds_count (\d+)$/)
    if (m) count = Number(m[1])
  }
  assert.match(body, /# TYPE quire_update_latency_seconds histogram\n/)
  return { buckets, sum, count }
}

async function post (server, doc, body) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/update`, { method: 'POST', body, signal: AbortSignal.timeout(15000) })
  return { status: res.status, text: await res.text() }
}

test('quire_update_latency_seconds observes each stored update once, WebSocket and HTTP; not duplicates or refusals', { timeout: 60000 }, async () => {
  const server = await startServer()
  const room = roomName('latency')
  let p
  try {
    const h0 = await histogram(server)
    assert.equal(h0.count, 0)
    assert.equal(h0.sum, 0)
    assert.equal(h0.buckets.length, 13)
    const t0 = performance.now()
    p = await connectProvider(server, room)
    for (let i = 0; i < 5; i++) {
      p.doc.getText('t').insert(0, `ws${i} `)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const w = new Y.Doc()
    w.getText('h').insert(0, 'over http')
    const u = Y.encodeStateAsUpdate(w)
    assert.equal((await post(server, room, u)).status, 200)
    assert.equal((await post(server, room, u)).status, 200, 'a duplicate: stored 0')
    assert.equal((await post(server, room, new Uint8Array([1, 2, 3]))).status, 400)
    // the five WebSocket updates are stored once relayed; the HTTP one was answered after it
    await waitFor(async () => (await histogram(server)).count === 6, { message: 'six observations' })
    const wall = (performance.now() - t0) / 1000
    const h = await histogram(server)
    assert.equal(h.count, 6, 'five WebSocket updates and one HTTP write; not the duplicate or the malformed one')
    assert.ok(h.sum > 0 && h.sum < wall, `sum ${h.sum} s within the ${wall} s the test took`)
    for (let i = 1; i < h.buckets.length; i++) {
      assert.ok(h.buckets[i][0] > h.buckets[i - 1][0], 'bounds ascend')
      assert.ok(h.buckets[i][1] >= h.buckets[i - 1][1], 'cumulative')
    }
    assert.deepEqual(h.buckets.at(-1), [Infinity, 6])
    assert.equal(h.buckets[0][0], 0.0001)
  } finally {
    destroyAll(p)
    await server.stop()
  }
})
