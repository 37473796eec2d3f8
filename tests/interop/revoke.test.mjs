// Token revocation and lifetime policy (reliability.md D1 "lifetime above
// policy", D3): `quire token` mints a random jti; --revocations FILE names
// revoked tokens ("jti ID") and users ("sub TIME USER": their tokens issued
// before TIME). The file is reread within a second of a change: new
// handshakes and HTTP requests with a revoked token get 401 "token revoked",
// live connections holding one are closed with 4403 (y-websocket does not
// reconnect), everything else carries on. A bad edit keeps the rules in
// force; a bad file at start stops quire with exit 2. --max-token-lifetime
// refuses tokens valid for longer than it.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startServer, makeDataDir, QUIRE_BIN } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import { connectProvider, destroyAll, openRaw, rawGet, roomName, sleep, waitFor, withDeadline, wsHeaders } from './lib/yclient.mjs'
import { keygen, quireToken, panvaToken, V4 } from './lib/tokens.mjs'

let dir, A
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-revoke-'))
  A = keygen(dir, 'a')
})
after(() => { fs.rmSync(dir, { recursive: true, force: true }) })

const wsPath = (doc, token) => `/ws/${doc}?token=${encodeURIComponent(token)}`
async function handshake (server, doc, token) {
  return rawGet(server, wsPath(doc, token), wsHeaders())
}
async function api (server, doc, token) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/update`, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10000) })
  return { status: res.status, text: Buffer.from(await res.arrayBuffer()).toString() }
}
async function jtiOf (token) {
  return (await V4.verify(token, A.publicKey)).jti
}
/** Rewrites the file so that its size or mtime changes even within the same second. */
function writeRules (file, text) {
  fs.writeFileSync(file + '.tmp', text)
  fs.renameSync(file + '.tmp', file) // a new inode: seen even at the same size and mtime
}

test('quire token mints a random jti (16 bytes, base64url)', async () => {
  const a = await jtiOf(quireToken(A, 'x'))
  const b = await jtiOf(quireToken(A, 'x'))
  assert.match(a, /^[A-Za-z0-9_-]{22}$/)
  assert.notEqual(a, b)
})

test('a jti rule: live connections with that token are closed with 4403, new handshakes and HTTP requests get 401, other tokens carry on', { timeout: 60000 }, async () => {
  const file = path.join(dir, 'revoked-jti')
  writeRules(file, '# nothing revoked yet\n')
  const server = await startServer({ anonymous: false, args: ['--token-pubkey', A.pubPath, '--revocations', file] })
  const doc = roomName('revoke-jti')
  const bad = quireToken(A, doc, { sub: 'mallory' })
  const good = quireToken(A, doc, { sub: 'mallory' })
  let p
  try {
    assert.match(server.stderr, /--revocations .*: 0 rules in force/)
    const victim = await openRaw(server, doc, { path: wsPath(doc, bad) })
    const bystander = await openRaw(server, doc, { path: wsPath(doc, good) })
    p = await connectProvider(server, doc, { params: { token: bad } })
    writeRules(file, `# leaked in a screenshot\njti ${await jtiOf(bad)}\n`)
    const t0 = Date.now()
    const info = await withDeadline(victim.closed, 5000, 'the revoked connection to be closed')
    assert.deepEqual(info, { code: 4403, reason: 'token revoked' })
    assert.ok(Date.now() - t0 < 3000, `closed ${Date.now() - t0} ms after the change`)
    await waitFor(() => p.closes.some((c) => c.code === 4403), { message: 'the provider to see 4403' })
    await sleep(1500)
    assert.equal(p.provider.wsconnected, false, 'y-websocket does not reconnect after 4403')
    assert.equal(bystander.closeInfo, null, 'another token of the same user stays')
    const h = await handshake(server, doc, bad)
    assert.equal(h.status, 401)
    assert.match(h.body, /token revoked/)
    const r = await api(server, doc, bad)
    assert.equal(r.status, 401)
    assert.match(r.text, /token revoked/)
    assert.equal((await api(server, doc, good)).status, 404, 'the other token reads (nothing stored: 404)')
    assert.equal(await metric(server, 'quire_token_revoked_closes_total'), 2)
    assert.equal(await metric(server, 'quire_revocation_rules'), 1)
    assert.ok(!server.stderr.includes(bad), 'the token is never logged')
    bystander.close()
  } finally {
    destroyAll(p)
    await server.stop()
  }
})

test('a sub rule revokes that user\'s tokens issued before its time (and those without iat); later tokens and other users pass', { timeout: 60000 }, async () => {
  const file = path.join(dir, 'revoked-sub')
  const doc = roomName('revoke-sub')
  const old = quireToken(A, doc, { sub: 'alice@example.org' })
  const noIat = await panvaToken(A, { doc, sub: 'alice@example.org' }, { iat: false })
  const bob = quireToken(A, doc, { sub: 'bob' })
  await sleep(1100) // iat has whole seconds
  const cut = new Date().toISOString()
  writeRules(file, `sub ${cut} alice@example.org\nsub 2000-01-01T00:00:00Z bob\n`)
  const server = await startServer({ anonymous: false, args: ['--token-pubkey', A.pubPath, '--revocations', file] })
  try {
    assert.equal((await handshake(server, doc, old)).status, 401)
    assert.equal((await handshake(server, doc, noIat)).status, 401, 'a token without iat counts as issued before')
    assert.equal((await handshake(server, doc, bob)).status, 101, 'bob\'s rule is older than his token')
    await sleep(1100)
    const fresh = quireToken(A, doc, { sub: 'alice@example.org' })
    assert.equal((await handshake(server, doc, fresh)).status, 101, 'a token issued after the rule passes')
    assert.equal((await handshake(server, doc, quireToken(A, doc))).status, 101, 'a token without sub passes')
  } finally {
    await server.stop()
  }
})

test('--revocations: a bad file stops start-up (exit 2, line named); a bad edit later keeps the rules in force; a deleted file lifts them', { timeout: 60000 }, async () => {
  const file = path.join(dir, 'revoked-bad')
  const doc = roomName('revoke-bad')
  const run = (f) => spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', makeDataDir(), '--token-pubkey', A.pubPath, '--revocations', f], { encoding: 'utf8', timeout: 10000 })
  for (const [text, why] of [
    ['jti\n', /line 1: a rule is "jti ID" or "sub TIME USER"/],
    ['# ok\njti a b\n', /line 2: jti needs one ID/],
    ['sub yesterday alice\n', /line 1: sub needs a time/],
    ['sub 2026-01-01T00:00:00Z\n', /line 1: sub needs a user/],
    ['revoke everything\n', /line 1: a rule is/],
    ['jti \xff\n', /line 1: not UTF-8/],
    [`jti ${'x'.repeat(256)}\n`, /line 1: jti needs one ID of 1 to 255 bytes/]
  ]) {
    fs.writeFileSync(file, text, 'latin1')
    const r = run(file)
    assert.equal(r.status, 2, `${JSON.stringify(text)}: exit ${r.status}\n${r.stderr}`)
    assert.match(r.stderr, why)
    assert.match(r.stderr, /not starting/)
  }
  const missing = run(path.join(dir, 'no-such-file'))
  assert.equal(missing.status, 2)
  assert.match(missing.stderr, /No such file or directory/)

  const token = quireToken(A, doc)
  writeRules(file, `jti ${await jtiOf(token)}\n`)
  const server = await startServer({ anonymous: false, args: ['--token-pubkey', A.pubPath, '--revocations', file] })
  try {
    assert.equal((await handshake(server, doc, token)).status, 401)
    writeRules(file, `jti ${await jtiOf(token)}\nsub not-a-time someone\n`)
    await waitFor(() => /line 2: sub needs a time .*the rules read before stay in force/.test(server.stderr), { message: 'the bad edit to be reported' })
    assert.equal((await handshake(server, doc, token)).status, 401, 'still revoked after a bad edit')
    fs.rmSync(file)
    await waitFor(() => /gone; no token is revoked until it is back/.test(server.stderr), { message: 'the deletion to be seen' })
    assert.equal((await handshake(server, doc, token)).status, 101)
    assert.equal(await metric(server, 'quire_revocation_rules'), 0)
  } finally {
    await server.stop()
  }
})

test('--max-token-lifetime refuses tokens valid for longer (exp - iat, or exp - now without iat); bad values exit 2', { timeout: 60000 }, async () => {
  const doc = roomName('lifetime')
  const server = await startServer({ anonymous: false, args: ['--token-pubkey', A.pubPath, '--max-token-lifetime', '3600'] })
  try {
    assert.match(server.stderr, /refusing tokens valid for more than 3600 s/)
    const long = quireToken(A, doc, { ttl: 7200 })
    const h = await handshake(server, doc, long)
    assert.equal(h.status, 401)
    assert.match(h.body, /lifetime .* --max-token-lifetime/)
    assert.equal((await api(server, doc, long)).status, 401)
    assert.equal((await handshake(server, doc, quireToken(A, doc, { ttl: 3600 }))).status, 101, 'exactly the cap passes')
    assert.equal((await handshake(server, doc, await panvaToken(A, { doc }, { iat: false, expiresIn: '3h' }))).status, 401, 'without iat: exp - now')
    assert.equal((await handshake(server, doc, await panvaToken(A, { doc }, { iat: false, expiresIn: '30m' }))).status, 101)
  } finally {
    await server.stop()
  }
  for (const v of ['-1', 'x', '1h', String(10 * 366 * 86400 + 1)]) {
    const r = spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', makeDataDir(), '--token-pubkey', A.pubPath, '--max-token-lifetime', v], { encoding: 'utf8', timeout: 10000 })
    assert.equal(r.status, 2, `--max-token-lifetime ${v}: ${r.stderr}`)
    assert.match(r.stderr, /invalid value/)
  }
})

test('a rewrite in place that keeps the size and the modification time (coarse timestamps) is still seen', { timeout: 60000 }, async () => {
  const file = path.join(dir, 'revoked-inplace')
  const doc = roomName('revoke-inplace')
  const a = quireToken(A, doc)
  const b = quireToken(A, doc)
  // a whole second a minute ahead: "recently modified" for the whole test, however slow the start
  const t = new Date(Math.floor(Date.now() / 1000) * 1000 + 60000)
  fs.writeFileSync(file, `jti ${await jtiOf(a)}\n`)
  fs.utimesSync(file, t, t)
  const server = await startServer({ anonymous: false, args: ['--token-pubkey', A.pubPath, '--revocations', file] })
  try {
    const victim = await openRaw(server, doc, { path: wsPath(doc, b) })
    const ino = fs.statSync(file).ino
    fs.writeFileSync(file, `jti ${await jtiOf(b)}\n`) // same inode, same length
    fs.utimesSync(file, t, t)
    const st = fs.statSync(file)
    assert.equal(st.ino, ino)
    assert.equal(st.mtimeMs, t.getTime())
    assert.deepEqual(await withDeadline(victim.closed, 5000, 'the revoked connection to be closed'), { code: 4403, reason: 'token revoked' })
    assert.equal((await handshake(server, doc, a)).status, 101, 'the first rule is gone')
  } finally {
    await server.stop()
  }
})

test('an iat in the future counts as now: it neither stretches --max-token-lifetime nor escapes a sub rule', { timeout: 60000 }, async () => {
  const file = path.join(dir, 'revoked-future')
  const doc = roomName('revoke-future')
  writeRules(file, `sub ${new Date(Date.now() + 60000).toISOString()} mallory\n`)
  const server = await startServer({ anonymous: false, args: ['--token-pubkey', A.pubPath, '--revocations', file, '--max-token-lifetime', '3600'] })
  try {
    const year = 366 * 86400e3
    const iat = new Date(Date.now() + year).toISOString()
    const exp = new Date(Date.now() + year + 60000).toISOString()
    const long = await panvaToken(A, { doc, iat, exp, sub: 'trudy' }, { iat: false, expiresIn: null })
    const h = await handshake(server, doc, long)
    assert.equal(h.status, 401, 'valid for a year from now: over the cap')
    assert.match(h.body, /--max-token-lifetime/)
    const shortIat = new Date(Date.now() + 600000).toISOString()
    const shortExp = new Date(Date.now() + 1200000).toISOString()
    const m = await panvaToken(A, { doc, iat: shortIat, exp: shortExp, sub: 'mallory' }, { iat: false, expiresIn: null })
    const r = await handshake(server, doc, m)
    assert.equal(r.status, 401, 'mallory\'s rule reaches a token claiming to be issued later')
    assert.match(r.body, /token revoked/)
  } finally {
    await server.stop()
  }
})

test('rules are found however the file changes: in place (appended, truncated and refilled, after a chmod that fixes a read), and through the Authorization header', { timeout: 60000 }, async () => {
  const file = path.join(dir, 'revoked-edits')
  const doc = roomName('revoke-edits')
  const [a, b, c] = [quireToken(A, doc), quireToken(A, doc), quireToken(A, doc)]
  fs.writeFileSync(file, `jti ${await jtiOf(a)}\n`)
  const server = await startServer({ anonymous: false, args: ['--token-pubkey', A.pubPath, '--revocations', file] })
  const bearer = (t) => rawGet(server, `/ws/${doc}`, wsHeaders({ Authorization: `Bearer ${t}` }))
  try {
    assert.equal((await bearer(a)).status, 401)
    assert.equal((await bearer(b)).status, 101)
    fs.appendFileSync(file, `jti ${await jtiOf(b)}\n`) // same inode
    await waitFor(async () => (await bearer(b)).status === 401, { timeout: 5000, message: 'the appended rule' })
    // truncated, then refilled: the revocations of a never lapse for longer than the gap
    fs.writeFileSync(file, '')
    for (const until = Date.now() + 1500; Date.now() < until;) { // at least one tick sees the empty file
      assert.equal((await bearer(a)).status, 401, 'an emptied file written a moment ago lifts nothing yet')
      await sleep(100)
    }
    fs.writeFileSync(file, `jti ${await jtiOf(a)}\njti ${await jtiOf(b)}\njti ${await jtiOf(c)}\n`)
    await waitFor(async () => (await bearer(c)).status === 401, { timeout: 5000, message: 'the refilled file' })
    assert.equal((await bearer(a)).status, 401)
    // an unreadable file keeps the rules; a chmod that fixes it is seen (as root the read works anyway)
    if (process.getuid && process.getuid() !== 0) {
      fs.chmodSync(file, 0o000)
      await sleep(1500)
      assert.equal((await bearer(a)).status, 401)
      fs.chmodSync(file, 0o644)
    }
    // a smaller list written a moment ago waits until the file has been left alone
    writeRules(file, `jti ${await jtiOf(c)}\n`)
    await waitFor(async () => (await bearer(a)).status === 101, { timeout: 8000, message: 'the shorter list to be taken' })
    assert.equal((await bearer(c)).status, 401)
  } finally {
    await server.stop()
  }
})
