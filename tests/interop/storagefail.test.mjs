// A write the store refuses (here: LMDB's map is full) must not stay in the
// room's document. Otherwise the room serves content that is not stored, the
// sender finds it in the server's state vector when it reconnects and never
// sends it again, and it is lost when the room closes or the server restarts.
// quire closes the room's connections (1011) and loads the document again from
// the store; clients resync and send again what the store lacks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import os from 'node:os'
import { sanitizerReport } from './lib/server.mjs'
import { startServer, makeDataDir } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import {
  Y, connectProvider, destroyAll, openRaw, waitFor, waitStored, withDeadline, roomName, fetchDoc, decodeMessage, MSG_SYNC
} from './lib/yclient.mjs'

const BIG = 300000 // characters: far more than the 64 KiB map holds

const storageFailures = (client) => client.closes.filter((c) => c.code === 1011 && c.reason === 'storage failure').length

test('a write the store refuses leaves the room; the client sends it again once storage works', { timeout: 90000 }, async () => {
  const dir = makeDataDir()
  let server = await startServer({ dataDir: dir, args: ['--map-size', '65536'] })
  const room = roomName('mapfull')
  const bigDoc = new Y.Doc()
  bigDoc.getText('t').insert(0, 'x'.repeat(BIG))
  let a, big, b, again, watcher
  try {
    a = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'hello')
    await waitStored(server, room, a.doc)
    a.destroy()
    a = null
    // A member that only listens (a provider would resync and could pick
    // the content up while its commit is still in flight, which is allowed).
    watcher = await openRaw(server, room)
    await watcher.next() // the server's step 1

    // The big client's step 2 cannot be stored. It is closed, reconnects,
    // finds the server without its content, sends it again, and is closed
    // again: a second refusal proves the server forgot what it could not store.
    big = await connectProvider(server, room, { doc: bigDoc, waitSynced: false })
    await waitFor(() => storageFailures(big) >= 2, {
      timeout: 30000,
      message: () => `the big client to be refused twice (closes: ${JSON.stringify(big.closes)})`
    })
    big.provider.destroy() // keeps bigDoc
    big = null
    // Its last attempt may still be in flight: wait until no refusal or
    // reload has happened for half a second.
    let last = ''
    await waitFor(async () => {
      const now = `${await metric(server, 'quire_store_failures_total')}/${await metric(server, 'quire_doc_reloads_total')}`
      const quiet = now === last
      last = now
      return quiet
    }, { timeout: 15000, interval: 500, message: 'refusals and reloads to stop' })

    // Everyone in the room was closed to resync, and the write was not relayed.
    assert.deepEqual(await withDeadline(watcher.closed, 5000, 'the listening member to be closed'),
      { code: 1011, reason: 'storage failure' })
    const relayed = new Y.Doc() // what was relayed to it (the earlier 'hello' may be)
    for (const m of watcher.messages.slice(1)) {
      const d = decodeMessage(m)
      if (d.type === MSG_SYNC) Y.applyUpdate(relayed, d.payload)
    }
    assert.ok(!relayed.getText('t').toString().includes('x'), 'the refused write must not be relayed')

    // A newcomer and the HTTP API see what is stored, not the refused write.
    b = await connectProvider(server, room)
    assert.equal(b.text(), 'hello', 'a newcomer must not receive content the store refused')
    assert.equal((await fetchDoc(server, room)).getText('t').toString(), 'hello')
    assert.ok(await metric(server, 'quire_store_failures_total') >= 2)
    assert.ok(await metric(server, 'quire_doc_reloads_total') >= 2)

    // The room goes on taking writes that fit.
    b.doc.getText('t').insert(5, ' world')
    await waitStored(server, room, b.doc)
    b.destroy()
    b = null

    // Restarted with room to spare: what was stored is there, nothing more,
    // and the big client's content is stored once it reconnects.
    const st = await server.stop()
    assert.equal(st.code, 0)
    server = await startServer({ dataDir: dir })
    assert.equal((await fetchDoc(server, room)).getText('t').toString(), 'hello world')
    again = await connectProvider(server, room, { doc: bigDoc })
    const stored = await waitStored(server, room, bigDoc, 20000)
    const text = stored.getText('t').toString()
    assert.equal(text.length, BIG + 'hello world'.length)
    assert.equal(text.replace(/x/g, ''), 'hello world')
  } finally {
    if (watcher) watcher.terminate()
    if (big) big.provider.destroy()
    destroyAll(a, b, again)
    bigDoc.destroy() // and with it the awareness timer of its providers
    await server.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('a write past the file-size limit (RLIMIT_FSIZE) is a storage failure, not the end of the server', { timeout: 60000 }, async () => {
  const dir = makeDataDir()
  const server = await startServer({ dataDir: dir })
  const room = roomName('fsize')
  let a, big
  try {
    a = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'small')
    await waitStored(server, room, a.doc)
    // the data file may not grow: LMDB appends new pages at its end, so the
    // next commit's write starts at the limit, which raises SIGXFSZ (a write
    // that only crosses it is cut short, and LMDB fails it with EIO)
    const size = fs.statSync(path.join(dir, 'data.mdb')).size
    const pl = spawnSync('prlimit', ['--pid', String(server.pid), `--fsize=${size}`], { encoding: 'utf8' })
    assert.equal(pl.status, 0, `prlimit: ${pl.stderr}`)
    const bigDoc = new Y.Doc()
    bigDoc.getText('t').insert(0, 'y'.repeat(BIG))
    big = await connectProvider(server, room, { doc: bigDoc, waitSynced: false })
    await waitFor(() => storageFailures(big) >= 1, {
      timeout: 20000, message: () => `the big write to be refused with 1011 (closes: ${JSON.stringify(big.closes)})`
    })
    big.destroy()
    big = null
    assert.ok(server.alive(), 'the server is still running (SIGXFSZ did not kill it)')
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200)
    assert.equal((await fetchDoc(server, room)).getText('t').toString(), 'small', 'nothing of the refused write is stored')
    assert.ok(await metric(server, 'quire_store_failures_total') >= 1)
  } finally {
    destroyAll(a, big)
    await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

// A shared object that fails LMDB's writes of its meta pages (the commit point,
// the first two pages of data.mdb) with EIO once the file named by
// QUIRE_TEST_FAIL_META exists: what a failing disk does to a commit.
const FAIL_META_C = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
static int armed(off_t off) {
  const char *p = getenv("QUIRE_TEST_FAIL_META");
  return p && off < 2 * sysconf(_SC_PAGESIZE) && access(p, F_OK) == 0;
}
ssize_t pwrite(int fd, const void *b, size_t n, off_t off) {
  static ssize_t (*real)(int, const void *, size_t, off_t);
  if (armed(off)) { errno = EIO; return -1; }
  if (!real) real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  return real(fd, b, n, off);
}
`

test('a failed write of LMDB\'s commit point stops quire with exit status 1; the restart recovers what was committed', { timeout: 60000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-failmeta-'))
  const so = path.join(tmp, 'failmeta.so')
  const trigger = path.join(tmp, 'fail-now')
  fs.writeFileSync(path.join(tmp, 'failmeta.c'), FAIL_META_C)
  const cc = spawnSync(process.env.CC || 'cc', ['-shared', '-fPIC', '-o', so, path.join(tmp, 'failmeta.c'), '-ldl'], { encoding: 'utf8' })
  assert.equal(cc.status, 0, `compiling the shim: ${cc.stderr}`)
  const dir = makeDataDir()
  const env = {
    LD_PRELOAD: so,
    QUIRE_TEST_FAIL_META: trigger,
    // an ASan build wants its runtime first in the library list
    ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'verify_asan_link_order=0'].filter(Boolean).join(':')
  }
  let server = await startServer({ dataDir: dir, env })
  const room = roomName('fatal')
  let a, b
  try {
    a = await connectProvider(server, room)
    b = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'committed')
    // relayed only after its commit (GET could answer before it)
    await waitFor(() => b.text() === 'committed', { message: 'the relay of the first write' })
    b.destroy()
    b = null
    fs.writeFileSync(trigger, '')
    a.doc.getText('t').insert(0, 'lost ')
    const st = await withDeadline(server.exited, 20000, 'quire to stop after the fatal store error')
    assert.equal(st.code, 1, `exit status (signal ${st.signal})`)
    assert.match(server.stderr, /LMDB reports a fatal error/)
    assert.match(server.stderr, /stopping: the store can no longer write/)
    assert.equal(sanitizerReport(server.stderr), null, 'no sanitizer report')
    a.destroy()
    a = null
    server = await startServer({ dataDir: dir })
    assert.equal((await fetchDoc(server, room)).getText('t').toString(), 'committed', 'the last committed state, nothing of the failed commit')
    a = await connectProvider(server, room)
    a.doc.getText('t').insert(0, 'again ')
    await waitStored(server, room, a.doc)
  } finally {
    destroyAll(a, b)
    if (server.alive()) await server.stop({ allowFailure: true })
    fs.rmSync(dir, { recursive: true, force: true })
    fs.rmSync(tmp, { recursive: true, force: true })
  }
})
