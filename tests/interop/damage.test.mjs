// Damaged stored records (reliability.md C6): every LMDB value quire writes
// carries a CRC-32C over its key and bytes (server/record.h). A byte flipped
// on disk, here with LMDB's own tools (mdb_dump / mdb_load) while quire is
// stopped or running, is found when the document is read: that document is
// refused with a clear error (HTTP 500, WebSocket handshake 500, 1011
// "document damaged" to members), nothing is written to it, and every other
// document carries on. A store written before checksums still opens and is
// sealed from its next append on. `quire store check` finds the damage
// offline, `quire store drop` clears a document for a restore, and one data
// directory serves one process at a time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { startServer, makeDataDir, QUIRE_BIN } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import { dump, flipText, load, logOf } from './lib/lmdb.mjs'
import { Y, connectProvider, destroyAll, fetchDoc, fetchDocUpdate, openRaw, rawClient, roomName, waitFor, waitStored, encUpdate } from './lib/yclient.mjs'

const be64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b }

/**
 * A store as quire wrote it before checksums, holding one document (id 1):
 * docs name -> id | created (16 bytes), log (id, seq) -> a bare update, one
 * per edit that edit(text) makes.
 */
function legacyStore (dir, doc, clientID, edit) {
  const old = new Y.Doc()
  old.clientID = clientID
  const updates = []
  old.on('update', (u) => updates.push(Buffer.from(u)))
  edit(old.getText('t'))
  load(dir, 'docs', [{ key: Buffer.from(doc), value: Buffer.concat([be64(1), be64(Date.now())]) }])
  load(dir, 'meta', [{ key: Buffer.from('next_doc_id'), value: be64(2) }])
  load(dir, 'log', updates.map((u, i) => ({ key: Buffer.concat([be64(1), be64(i + 1)]), value: u })))
  return { old, updates }
}

/** Flips a bit of byte `at` of a log record (quire stopped), then a fresh quire must refuse the document as damaged. */
async function expectDamagedAfterFlip (dir, doc, record, at) {
  const v = Buffer.from(record.value)
  v[at] ^= 0x10
  load(dir, 'log', [{ key: record.key, value: v }])
  const server = await startServer({ dataDir: dir })
  try {
    const t = await getText(server, doc)
    assert.equal(t.status, 500, 'the damaged record is found')
    assert.match(t.text, /damaged \(checksum mismatch\)/)
  } finally {
    await server.stop()
  }
}

async function getText (server, doc) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/text?root=t`, { signal: AbortSignal.timeout(10000) })
  return { status: res.status, text: await res.text() }
}

async function handshake (server, doc) {
  const c = rawClient(server, doc)
  try {
    await c.opened
    return { status: 101, client: c }
  } catch (e) {
    return { status: e.status ?? e.message }
  }
}

/** Inserts text at the start of doc's root 't' and waits until it is committed to LMDB (the
 *  HTTP read of waitStored may answer from the room before the commit). */
async function writeText (server, doc, text) {
  const p = await connectProvider(server, doc)
  p.doc.getText('t').insert(0, text)
  await waitStored(server, doc, p.doc)
  destroyAll(p)
  const committed = () => {
    const d = dump(server.dataDir, 'docs').find((r) => r.key.toString() === doc)
    return d && dump(server.dataDir, 'log').some((r) => r.key.subarray(0, 8).equals(d.value.subarray(0, 8)) && r.value.includes(text))
  }
  await waitFor(committed, { message: `${doc}: "${text}" committed` })
}

test('a byte flipped in a stored update or docs record is detected: that document is refused with a clear error, nothing is written to it, others carry on', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const [a, b, c] = [roomName('damaged-log'), roomName('intact'), roomName('damaged-docs')]
  let server = await startServer({ dataDir: dir })
  try {
    await writeText(server, a, 'the quick brown fox jumps over the lazy dog')
    await writeText(server, b, 'an intact document')
    await writeText(server, c, 'a document whose docs record is damaged')
    await server.stop()

    // flip one bit of the letter q in a's stored update
    const { records } = logOf(dir, a)
    const rec = records.find((r) => r.value.includes('quick'))
    assert.ok(rec, 'a stored update holds the text')
    const at = rec.value.indexOf('quick')
    const flipped = Buffer.from(rec.value)
    flipped[at] ^= 0x01 // 'q' -> 'p'
    load(dir, 'log', [{ key: rec.key, value: flipped }])
    // and one bit of c's document id
    const cdoc = logOf(dir, c).doc
    const cflipped = Buffer.from(cdoc.value)
    cflipped[7] ^= 0x04
    load(dir, 'docs', [{ key: cdoc.key, value: cflipped }])
    const logBefore = dump(dir, 'log')

    server = await startServer({ dataDir: dir })
    for (const doc of [a, c]) {
      const t = await getText(server, doc)
      assert.equal(t.status, 500, `${doc}: GET text is refused, got ${t.status} ${t.text}`)
      assert.match(t.text, /damaged \(checksum mismatch\)/)
      const u = await fetch(`${server.httpUrl}/api/docs/${doc}/update`, { signal: AbortSignal.timeout(10000) })
      assert.equal(u.status, 500, `${doc}: GET update is refused`)
      await u.arrayBuffer()
      const h = await handshake(server, doc)
      assert.equal(h.status, 500, `${doc}: the WebSocket handshake is refused`)
      const w = await fetch(`${server.httpUrl}/api/docs/${doc}/update`, {
        method: 'POST', body: Y.encodeStateAsUpdate((() => { const d = new Y.Doc(); d.getText('t').insert(0, 'more'); return d })()),
        headers: { 'Content-Type': 'application/octet-stream' }, signal: AbortSignal.timeout(10000)
      })
      assert.equal(w.status, 500, `${doc}: an HTTP write is refused`)
      await w.arrayBuffer()
    }
    assert.match(server.stderr, new RegExp(`room ${a}: cannot load: stored document is damaged: log record \\d+ fails its checksum`))
    assert.match(server.stderr, new RegExp(`${c}: .*stored document is damaged: its docs record fails its checksum`))
    assert.ok((await metric(server, 'quire_store_damaged_total')) >= 6, 'quire_store_damaged_total counts the reads')
    // the intact document is served and takes writes
    assert.deepEqual(await getText(server, b), { status: 200, text: 'an intact document' })
    await writeText(server, b, 'still ')
    assert.equal((await getText(server, b)).text, 'still an intact document')
    await server.stop()
    // nothing was written to the damaged documents: their records are as they were
    const logAfter = dump(dir, 'log')
    const ofDoc = (recs, id) => recs.filter((r) => r.key.subarray(0, 8).equals(id)).map((r) => r.key.toString('hex') + r.value.toString('hex'))
    for (const id of [rec.key.subarray(0, 8), cflipped.subarray(0, 8), cdoc.value.subarray(0, 8)]) {
      assert.deepEqual(ofDoc(logAfter, id), ofDoc(logBefore, id))
    }
    server = null
  } finally {
    if (server && server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('damage found while quire runs: a member of the room is closed with 1011 "document damaged" when the document is loaded again', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const doc = roomName('damaged-live')
  const server = await startServer({ dataDir: dir, args: ['--doc-idle-timeout', '1'] })
  let member
  try {
    await writeText(server, doc, 'the quick brown fox')
    member = await openRaw(server, doc)
    // flip the byte with the server running (LMDB takes writes from other processes)
    const rec = logOf(dir, doc).records.find((r) => r.value.includes('quick'))
    const v = Buffer.from(rec.value)
    v[v.indexOf('quick')] ^= 0x01
    load(dir, 'log', [{ key: rec.key, value: v }])
    // the idle document is unloaded (its member stays); the member's next update loads it again
    await waitFor(async () => (await metric(server, 'quire_doc_unloads_total')) >= 1, { timeout: 10000, message: 'the document to be unloaded' })
    const d = new Y.Doc()
    d.getText('t').insert(0, 'x')
    member.send(encUpdate(Y.encodeStateAsUpdate(d)))
    const closed = await member.closed
    assert.deepEqual(closed, { code: 1011, reason: 'document damaged' })
    assert.equal((await getText(server, doc)).status, 500)
  } finally {
    if (member) member.terminate()
    if (server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('a store written before checksums (16-byte docs values, bare updates) opens, serves, and is sealed from its next append on', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const doc = roomName('legacy')
  const { updates } = legacyStore(dir, doc, 4242, (t) => {
    t.insert(0, 'written before checksums')
    t.insert(0, 'two updates, ')
  })
  let server = await startServer({ dataDir: dir })
  try {
    assert.deepEqual(await getText(server, doc), { status: 200, text: 'two updates, written before checksums' })
    await writeText(server, doc, 'sealed: ')
    await server.stop()
    const { doc: rec, records } = logOf(dir, doc)
    assert.equal(rec.value.length, 28, 'the docs value is rewritten with sealed_from and its checksum')
    assert.equal(rec.value.readBigUInt64BE(16), 3n, 'sealed from the first new sequence')
    assert.equal(records.length, 3)
    assert.ok(records[0].value.equals(updates[0]) && records[1].value.equals(updates[1]), 'old records are kept as they were')
    const check = new Y.Doc()
    for (const u of [updates[0], updates[1], records[2].value.subarray(4)]) Y.applyUpdate(check, u)
    assert.equal(check.getText('t').toString(), 'sealed: two updates, written before checksums', 'the new record is a 4-byte checksum and the update')
    // the new record is sealed: flipping a byte of it is found
    server = await startServer({ dataDir: dir })
    assert.equal((await getText(server, doc)).text, 'sealed: two updates, written before checksums')
    await server.stop()
    server = null
    await expectDamagedAfterFlip(dir, doc, records[2], records[2].value.length - 1)
  } finally {
    if (server && server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('compaction seals the snapshot of a legacy document; the compacted log reads back', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const doc = roomName('legacy-compact')
  const { old } = legacyStore(dir, doc, 77, (t) => {
    for (let i = 0; i < 5; i++) t.insert(t.length, `line ${i}\n`)
  })
  let server = await startServer({ dataDir: dir, args: ['--compact-after', '4'] })
  try {
    await writeText(server, doc, '> ')
    assert.ok((await metric(server, 'quire_store_compactions_total')) >= 1, 'the log was compacted')
    await server.stop()
    const { records } = logOf(dir, doc)
    assert.equal(records.length, 1, 'one snapshot')
    server = await startServer({ dataDir: dir })
    const want = '> ' + old.getText('t').toString()
    assert.equal((await getText(server, doc)).text, want)
    await server.stop()
    // the snapshot is sealed
    server = null
    await expectDamagedAfterFlip(dir, doc, records[0], records[0].value.length - 2)
  } finally {
    if (server && server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

function store (...args) {
  return spawnSync(QUIRE_BIN, ['store', ...args], { encoding: 'utf8', timeout: 30000 })
}

test('quire store check finds a damaged document while quire serves; store drop (refused while it serves) clears it; the backup state is written back', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const [a, b] = [roomName('repair'), roomName('repair-other')]
  let server = await startServer({ dataDir: dir })
  try {
    await writeText(server, a, 'the quick brown fox')
    await writeText(server, b, 'left alone')
    const backup = Buffer.from(await (await fetch(`${server.httpUrl}/api/docs/${a}/update`)).arrayBuffer())
    let r = store('check', '--data', dir)
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /^2 documents, 2 log records, \d+ bytes: 0 damaged\n$/)
    r = store('check', '--data', dir, '--all')
    assert.match(r.stdout, new RegExp(`^ok ${a}: 1 records, \\d+ bytes$`, 'm'))

    const rec = logOf(dir, a).records[0]
    const v = Buffer.from(rec.value)
    v[v.indexOf('quick')] ^= 0x01
    load(dir, 'log', [{ key: rec.key, value: v }])
    r = store('check', '--data', dir) // read-only: runs beside the server
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.equal(r.stdout.split('\n')[0], `damaged ${a}: log record 1 fails its checksum`)
    assert.match(r.stdout, /2 documents, 1 log records, \d+ bytes: 1 damaged/)
    r = store('drop', '--data', dir, a)
    assert.equal(r.status, 1)
    assert.match(r.stderr, /another quire process is using the data directory .* is locked/)
    await server.stop()

    r = store('drop', '--data', dir, a, 'never-written')
    assert.equal(r.status, 1, 'a name that is not stored is an error')
    assert.match(r.stdout, new RegExp(`^dropped ${a}: 1 log records$`, 'm'))
    assert.match(r.stderr, /never-written: no such document/)
    r = store('check', '--data', dir)
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /^1 documents, 1 log records/)

    server = await startServer({ dataDir: dir })
    assert.equal((await getText(server, a)).status, 404)
    const w = await fetch(`${server.httpUrl}/api/docs/${a}/update`, { method: 'POST', body: backup, headers: { 'Content-Type': 'application/octet-stream' } })
    assert.equal(w.status, 200, await w.text())
    assert.deepEqual(await getText(server, a), { status: 200, text: 'the quick brown fox' })
    assert.deepEqual(await getText(server, b), { status: 200, text: 'left alone' })
  } finally {
    if (server && server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('quire store: a damaged docs record is dropped alone (its log counted as records of no document); bad usage exits 2', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const a = roomName('docs-damaged')
  const server = await startServer({ dataDir: dir })
  try {
    await writeText(server, a, 'text')
  } finally {
    await server.stop()
  }
  try {
    const d = logOf(dir, a).doc
    const v = Buffer.from(d.value)
    v[3] ^= 0x80
    load(dir, 'docs', [{ key: d.key, value: v }])
    let r = store('check', '--data', dir)
    assert.equal(r.status, 1)
    assert.match(r.stdout, new RegExp(`^damaged ${a}: its docs record fails its checksum$`, 'm'))
    assert.match(r.stdout, /1 documents, 0 log records, 0 bytes: 1 damaged; 1 log records of no document/)
    r = store('drop', '--data', dir, a)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /its damaged record only/)
    r = store('check', '--data', dir)
    assert.equal(r.status, 0)
    assert.match(r.stdout, /^0 documents, 0 log records, 0 bytes: 0 damaged; 1 log records of no document$/m)
    for (const args of [[], ['nope'], ['check', '--bogus'], ['check', '--data'], ['drop', '--data', dir], ['drop', '--data', dir, '--all']]) {
      r = store(...args)
      assert.equal(r.status, 2, `quire store ${args.join(' ')} exits 2: ${r.stderr}`)
      assert.match(r.stderr, /usage: quire store/)
    }
    r = store('check', '--data', dir + '-missing')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /No such file or directory/)
    assert.equal(fs.existsSync(dir + '-missing'), false, 'check creates nothing')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('one data directory serves one process: a second quire serve on it exits 1 and the first carries on', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const doc = roomName('one-writer')
  const server = await startServer({ dataDir: dir })
  try {
    const r = spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--allow-anonymous'], { encoding: 'utf8', timeout: 20000 })
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /another quire process is using the data directory/)
    await writeText(server, doc, 'still served')
    assert.deepEqual(await getText(server, doc), { status: 200, text: 'still served' })
  } finally {
    await server.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('damage the writer meets (a docs record on its first write since start, a log record at compaction) refuses that document\'s updates only; the others in the batch are stored', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const [a, b, c] = [roomName('w-healthy'), roomName('w-docs'), roomName('w-log')]
  let server = await startServer({ dataDir: dir })
  try {
    for (const d of [a, b, c]) await writeText(server, d, 'the quick brown fox')
    const initial = await fetchDocUpdate(server, a)
    await server.stop()
    server = await startServer({ dataDir: dir, args: ['--compact-after', '3'] })
    const members = {}
    for (const d of [a, b, c]) members[d] = await openRaw(server, d)
    // b: its docs record, which the writer has not read since start
    const bd = logOf(dir, b).doc
    const bv = Buffer.from(bd.value)
    bv[12] ^= 0x01
    load(dir, 'docs', [{ key: bd.key, value: bv }])
    // c: its one log record, read again when the log is compacted
    const cr = logOf(dir, c).records[0]
    const cv = Buffer.from(cr.value)
    cv[cv.indexOf('quick')] ^= 0x01
    load(dir, 'log', [{ key: cr.key, value: cv }])
    // interleaved writes, so that batches hold several documents
    const docs = Object.fromEntries([a, b, c].map((d) => { const y = new Y.Doc(); y.clientID = 900 + [a, b, c].indexOf(d); return [d, y] }))
    for (let k = 0; k < 30; k++) {
      for (const d of [a, b, c]) {
        if (members[d].closeInfo) continue
        const before = Y.encodeStateVector(docs[d])
        docs[d].getText('t').insert(0, String(k % 10))
        members[d].send(encUpdate(Y.encodeStateAsUpdate(docs[d], before)))
      }
    }
    assert.deepEqual(await members[b].closed, { code: 1011, reason: 'document damaged' })
    assert.deepEqual(await members[c].closed, { code: 1011, reason: 'document damaged' })
    const oracle = new Y.Doc()
    Y.applyUpdate(oracle, initial)
    Y.applyUpdate(oracle, Y.encodeStateAsUpdate(docs[a]))
    await waitStored(server, a, oracle)
    assert.equal((await fetchDoc(server, a)).getText('t').toString(), oracle.getText('t').toString(), 'every update of the healthy document is stored')
    assert.equal(members[a].closeInfo, null, 'its member stays')
    for (const d of [b, c]) {
      const t = await getText(server, d)
      assert.equal(t.status, 500)
      assert.match(t.text, /damaged/)
    }
    assert.match(server.stderr, new RegExp(`store: document ${b} is damaged \\(a stored value fails its checksum\\): \\d+ updates to it refused`))
    assert.match(server.stderr, new RegExp(`store: compaction of document ${c}: log record 1 fails its checksum`))
    assert.doesNotMatch(server.stderr, /commit of \d+ updates failed/)
    members[a].close()
    await server.stop()
    server = null
    // c's damaged record was not compacted away
    assert.ok(logOf(dir, c).records[0].value.equals(cv))
  } finally {
    if (server && server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('a next-document-id counter gone back (damaged or restored alone) does not give a new document an old one\'s records', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const [a, b, c] = [roomName('id-old-a'), roomName('id-old-b'), roomName('id-new')]
  let server = await startServer({ dataDir: dir })
  try {
    await writeText(server, a, 'first document')
    await writeText(server, b, 'second document')
    await server.stop()
    load(dir, 'meta', [{ key: Buffer.from('next_doc_id'), value: be64(1) }])
    server = await startServer({ dataDir: dir })
    assert.match(server.stderr, /store: the stored next document id \(1\) is not above the log's last \(2\): using 3/)
    await writeText(server, c, 'a new document')
    for (const [d, text] of [[a, 'first document'], [b, 'second document'], [c, 'a new document']]) {
      assert.deepEqual(await getText(server, d), { status: 200, text })
    }
    await server.stop()
    server = null
    const ids = dump(dir, 'docs').map((r) => r.value.readBigUInt64BE(0))
    assert.equal(new Set(ids).size, 3, 'three documents, three ids')
  } finally {
    if (server && server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('repair offline from an mdb_copy backup: store drop, store get from the backup, store put into the live directory', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const backup = makeDataDir()
  const [a, b] = [roomName('offline-repair'), roomName('offline-other')]
  let server = await startServer({ dataDir: dir })
  const file = dir + '-doc.bin'
  try {
    await writeText(server, a, 'the quick brown fox')
    await writeText(server, b, 'untouched')
    const cp = spawnSync('mdb_copy', ['-c', dir, backup], { encoding: 'utf8', timeout: 30000 })
    assert.equal(cp.status, 0, cp.stderr)
    let r = store('put', '--data', dir, a, '/dev/null')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /not a Yjs v1 update/, 'an empty file is refused before the lock is asked for')
    fs.writeFileSync(file, Buffer.from([0, 0]))
    r = store('put', '--data', dir, a, file)
    assert.equal(r.status, 1)
    assert.match(r.stderr, /another quire process is using the data directory/)
    await server.stop()
    flipText(dir, a, 'quick')

    r = store('get', '--data', backup, a, '-o', file)
    assert.equal(r.status, 0, r.stderr)
    // - is standard output for get, standard input for put
    const piped = spawnSync(QUIRE_BIN, ['store', 'get', '--data', backup, a, '-o', '-'], { timeout: 30000 })
    assert.equal(piped.status, 0)
    assert.ok(piped.stdout.equals(fs.readFileSync(file)), 'get -o - writes the same bytes, and nothing else')
    const other = makeDataDir()
    const fromStdin = spawnSync(QUIRE_BIN, ['store', 'put', '--data', other, a, '-'], { input: piped.stdout, encoding: 'utf8', timeout: 30000 })
    assert.equal(fromStdin.status, 0, fromStdin.stderr)
    fs.rmSync(other, { recursive: true, force: true })
    r = store('get', '--data', dir, a, '-o', file + '.x')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /stored document is damaged/)
    r = store('get', '--data', backup, 'no-such-doc', '-o', file + '.x')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /no such document/)
    assert.equal(store('drop', '--data', dir, a).status, 0)
    r = store('put', '--data', dir, a, file)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^put ${a}: \\d+ bytes$`, 'm'))
    fs.writeFileSync(file + '.bad', 'not an update at all')
    r = store('put', '--data', dir, a, file + '.bad')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /not a Yjs v1 update/)
    for (const args of [['get', '--data', dir, a], ['get', '--data', dir, '-o', file], ['put', '--data', dir, a], ['put', '--data', dir]]) {
      r = store(...args)
      assert.equal(r.status, 2, `quire store ${args.join(' ')}: ${r.stderr}`)
    }
    assert.equal(store('check', '--data', dir).status, 0)
    server = await startServer({ dataDir: dir })
    assert.deepEqual(await getText(server, a), { status: 200, text: 'the quick brown fox' })
    assert.deepEqual(await getText(server, b), { status: 200, text: 'untouched' })
  } finally {
    if (server.alive()) await server.stop({ allowFailure: true })
    for (const f of [dir, backup, file, file + '.x', file + '.bad']) fs.rmSync(f, { recursive: true, force: true })
  }
})
