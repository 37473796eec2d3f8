// Long-run file growth (reliability.md C7): LMDB's file never shrinks, but
// pages freed by compaction and by copy-on-write are used again, so a store
// whose documents keep a constant size stops growing however many updates it
// takes. 20 documents take 32,000 one-character updates (typing at the end,
// deleting at the end: each text stays 200 characters) with compaction after
// 50 log entries; the data file after the first quarter is as large as it
// gets. Without compaction it would grow by every update.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { startServer, makeDataDir } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import { Y, encUpdate, fetchDocUpdate, openRaw, roomName, sleep, waitStored } from './lib/yclient.mjs'

test('a store of documents of constant size stops growing: 32,000 updates, and the data file is no larger than after the first 8,000', { timeout: 180000 }, async () => {
  const dir = makeDataDir()
  const server = await startServer({ dataDir: dir, args: ['--compact-after', '50', '--message-rate', '0', '--byte-rate', '0'] })
  const writers = []
  try {
    for (let i = 0; i < 20; i++) {
      const name = roomName('growth' + i)
      const c = await openRaw(server, name)
      const d = new Y.Doc()
      d.clientID = 100 + i
      d.on('update', (u) => c.send(encUpdate(u)))
      writers.push({ c, d, name })
    }
    const sizes = []
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < 400; k++) {
        for (const { d } of writers) {
          const t = d.getText('t')
          if (t.length >= 200) t.delete(t.length - 1, 1)
          else t.insert(t.length, 'abcdefgh'[k % 8])
        }
        if (k % 50 === 0) await sleep(1)
      }
      for (const { d, name } of writers) await waitStored(server, name, d, 30000)
      sizes.push(fs.statSync(path.join(dir, 'data.mdb')).size)
    }
    let live = 0
    for (const { name } of writers) live += (await fetchDocUpdate(server, name)).length
    const note = `data.mdb after each 8,000 updates: ${sizes.join(', ')} B; the documents encode to ${live} B`
    // (how many compactions depends on how updates fall into batches: at least one a document)
    assert.ok((await metric(server, 'quire_store_compactions_total')) >= 20, 'the logs were compacted')
    assert.ok(sizes[3] <= sizes[0] + 128 * 1024, `the file went on growing: ${note}`) // without compaction: +600 KB a quarter
    assert.ok(sizes[3] < 1024 * 1024, `a store of 20 small documents holds a megabyte: ${note}`)
  } finally {
    for (const { c } of writers) c.close()
    await server.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
