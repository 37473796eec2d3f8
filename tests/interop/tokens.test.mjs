// Signed session tokens (PASETO v4.public): interop with the npm `paseto`
// package both ways, every refusal with its HTTP status (the server carries
// on), document scopes and wildcards, Origin, read-only connections, expiry
// mid-session, the HTTP API, start-up modes, and tokens never in the logs.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startServer, makeDataDir, QUIRE_BIN } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import {
  Y, connectProvider, destroyAll, openRaw, waitFor, roomName, rawGet, wsHeaders, withDeadline,
  encUpdate, encSyncStep1, decodeMessage, sleep, decoding, MSG_AUTH, fetchDoc
} from './lib/yclient.mjs'
import { keygen, quireToken, panvaToken, flipChar, V2, V4 } from './lib/tokens.mjs'

const GOOD_ORIGIN = 'http://editor.example'

let keyDir
let A, B, C // A and B configured (rotation), C never
const usedTokens = new Set()
function remember (t) { usedTokens.add(t); return t }

before(() => {
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-keys-'))
  A = keygen(keyDir, 'a')
  B = keygen(keyDir, 'b')
  C = keygen(keyDir, 'c')
})
after(() => { fs.rmSync(keyDir, { recursive: true, force: true }) })

function wsPath (doc, token) {
  return `/ws/${doc}` + (token === undefined ? '' : `?token=${encodeURIComponent(token)}`)
}
async function handshake (server, doc, token, headers = {}) {
  if (token !== undefined) remember(token)
  return rawGet(server, wsPath(doc, token), wsHeaders(headers))
}
async function apiGet (server, doc, token) {
  const headers = token ? { Authorization: `Bearer ${remember(token)}` } : {}
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/update`, { headers, signal: AbortSignal.timeout(10000) })
  await res.arrayBuffer()
  return res
}

describe('keys and tokens from the command line', () => {
  test('keygen writes k4.secret (0600) and k4.public, prints the k4.pid, never overwrites', () => {
    assert.match(A.secret, /^k4\.secret\.[A-Za-z0-9_-]{86}$/)
    assert.match(A.pub, /^k4\.public\.[A-Za-z0-9_-]{43}$/)
    assert.match(A.pid, /^k4\.pid\.[A-Za-z0-9_-]{44}$/)
    assert.equal(fs.statSync(A.secretPath).mode & 0o777, 0o600)
    // The secret key holds the public key (libsodium seed || pk).
    assert.equal(Buffer.from(A.secret.slice(10), 'base64url').subarray(32).toString('base64url'), A.pub.slice(10))
    const again = spawnSync(QUIRE_BIN, ['keygen', '--out', A.secretPath], { encoding: 'utf8' })
    assert.notEqual(again.status, 0)
    assert.match(again.stderr, /exists/)
  })

  test('tokens from quire token verify with the npm paseto package', async () => {
    const t = quireToken(A, 'notes/*', { scope: 'ro', ttl: 120, sub: 'alice' })
    const r = await V4.verify(t, A.publicKey, { complete: true })
    assert.equal(r.payload.doc, 'notes/*')
    assert.equal(r.payload.scope, 'ro')
    assert.equal(r.payload.sub, 'alice')
    const exp = Date.parse(r.payload.exp)
    const iat = Date.parse(r.payload.iat)
    assert.ok(Math.abs(exp - iat - 120000) < 1000, `exp - iat = ${exp - iat}`)
    assert.ok(Math.abs(iat - Date.now()) < 60000)
    assert.deepEqual(JSON.parse(r.footer.toString()), { kid: A.pid })
    await assert.rejects(V4.verify(t, B.publicKey))
    const rw = await V4.verify(quireToken(A, 'x'), A.publicKey)
    assert.equal(rw.scope, 'rw')
  })

  test('quire token refuses bad arguments', () => {
    for (const args of [
      ['--key', A.secretPath],
      ['--doc', 'x'],
      ['--key', A.secretPath, '--doc', 'a b'],
      ['--key', A.secretPath, '--doc', 'a*b'],
      ['--key', A.secretPath, '--doc', 'x', '--scope', 'admin'],
      ['--key', A.secretPath, '--doc', 'x', '--ttl', '0'],
      ['--key', A.secretPath, '--doc', 'x', '--ttl', '-5'],
      ['--key', A.pubPath, '--doc', 'x']
    ]) {
      const r = spawnSync(QUIRE_BIN, ['token', ...args], { encoding: 'utf8' })
      assert.notEqual(r.status, 0, `quire token ${args.join(' ')} should fail`)
      assert.equal(r.stdout, '')
    }
  })
})

describe('handshake: every refusal gets its status and the server carries on', () => {
  let server
  before(async () => {
    server = await startServer({
      anonymous: false,
      // at the most verbose level: what is checked below holds for every log line
      args: ['--token-pubkey', A.pubPath, '--token-pubkey', B.pubPath, '--allow-origin', GOOD_ORIGIN, '--log-level', 'debug']
    })
  })
  after(async () => {
    await server.stop()
    assert.match(server.stderr, / debug: /, 'debug lines were written')
    // A token never appears in a log line.
    let checked = 0
    for (const t of usedTokens) {
      if (t.length < 60 || /^v4\.public\.A+$/.test(t)) continue // too short or too uniform to look for
      checked++
      const probe = t.slice(t.length - 40) // part of the signature
      assert.ok(!server.stderr.includes(probe), `a token was logged: …${probe}`)
    }
    assert.ok(checked > 20, `only ${checked} tokens checked`)
    assert.ok(!/token=[A-Za-z0-9]/.test(server.stderr), 'a query string was logged')
  })

  test('tokens minted by the npm paseto package are accepted (kid, no kid, rotated key)', async () => {
    const doc = roomName('tok')
    for (const t of [
      await panvaToken(A, { doc }),
      await panvaToken(A, { doc }, { kid: false }),
      await panvaToken(B, { doc }),
      await panvaToken(B, { doc }, { kid: false }),
      quireToken(A, doc),
      quireToken(B, doc)
    ]) {
      const r = await handshake(server, doc, t)
      assert.equal(r.status, 101)
    }
    // And a real y-websocket provider syncs with one.
    const token = remember(await panvaToken(A, { doc, sub: 'wiki-user-7' }))
    const a = await connectProvider(server, doc, { params: { token } })
    const b = await connectProvider(server, doc, { params: { token: remember(quireToken(B, doc)) } })
    try {
      a.doc.getText('t').insert(0, 'hello')
      await waitFor(() => b.text() === 'hello', { message: 'b to receive a\'s edit' })
    } finally {
      destroyAll(a, b)
    }
  })

  const refusals = [
    ['no token', async () => undefined, 401],
    ['empty token', async () => '', 401],
    ['garbage', async () => 'hello', 401],
    ['tampered claims', async (doc) => flipChar(await panvaToken(A, { doc }), 14), 401],
    ['tampered signature', async (doc) => {
      const t = await panvaToken(A, { doc }, { kid: false })
      return flipChar(t, t.length - 10)
    }, 401],
    ['wrong key (kid of an unknown key)', async (doc) => panvaToken(C, { doc }), 401],
    ['wrong key (no kid)', async (doc) => panvaToken(C, { doc }, { kid: false }), 401],
    ['wrong key claiming a configured kid', async (doc) => panvaToken(C, { doc }, { kid: A.pid }), 401],
    ['expired', async (doc) => panvaToken(A, { doc, exp: new Date(Date.now() - 1000).toISOString() }, { expiresIn: null }), 401],
    ['expired, +02:00 offset', async (doc) => {
      const d = new Date(Date.now() - 60000 + 2 * 3600000).toISOString().replace('Z', '+02:00')
      return panvaToken(A, { doc, exp: d }, { expiresIn: null })
    }, 401],
    ['nbf in the future', async (doc) => panvaToken(A, { doc }, { notBefore: '1h', expiresIn: '2h' }), 401],
    ['missing exp', async (doc) => panvaToken(A, { doc }, { expiresIn: null }), 401],
    ['exp as a number', async (doc) => panvaToken(A, { doc, exp: Math.floor(Date.now() / 1000) + 600 }, { expiresIn: null }), 401],
    ['no scope', async (doc) => V4.sign({ doc }, A.secretKey, { expiresIn: '5m' }), 401],
    ['scope admin', async (doc) => panvaToken(A, { doc, scope: 'admin' }), 401],
    ['v2.public', async (doc) => {
      const k = await V2.generateKey('public')
      return V2.sign({ doc, scope: 'rw' }, k, { expiresIn: '5m' })
    }, 401],
    ['v4.local', async () => 'v4.local.' + crypto.randomBytes(120).toString('base64url'), 401],
    ['broken base64 (+ and /)', async (doc) => (await panvaToken(A, { doc })).replace(/^(v4\.public\.....)./, '$1+'), 401],
    ['base64 with padding', async (doc) => (await panvaToken(A, { doc }, { kid: false })) + '=', 401],
    ['empty footer part', async (doc) => (await panvaToken(A, { doc }, { kid: false })) + '.', 401],
    ['three parts', async (doc) => (await panvaToken(A, { doc })) + '.e30', 401],
    ['a 200 kB token', async () => 'v4.public.' + 'A'.repeat(200 * 1024), 401],
    ['valid, for another document', async () => panvaToken(A, { doc: 'someone-else' }), 403],
    ['valid, ro, for another document', async () => quireToken(B, 'someone-else', { scope: 'ro' }), 403]
  ]
  for (const [name, make, status] of refusals) {
    test(`${name} → ${status}`, async () => {
      const doc = roomName('ref')
      const token = await make(doc)
      const r = await handshake(server, doc, token)
      assert.equal(r.status, status, `${name}: expected ${status}, got ${r.status}`)
      if (status === 401) assert.match(r.headers['www-authenticate'] || '', /^Bearer/)
      server.assertAlive()
    })
  }

  test('a 200 kB token as Authorization: Bearer → 401', async () => {
    const r = await rawGet(server, '/ws/big', wsHeaders({ Authorization: 'Bearer v4.public.' + 'A'.repeat(200 * 1024) }))
    assert.equal(r.status, 401)
    server.assertAlive()
  })

  test('a token in the Authorization header of a WebSocket handshake works too', async () => {
    const doc = roomName('hdr')
    const r = await rawGet(server, `/ws/${doc}`, wsHeaders({ Authorization: `Bearer ${remember(quireToken(A, doc))}` }))
    assert.equal(r.status, 101)
    const twice = await rawGet(server, wsPath(doc, quireToken(A, doc)), wsHeaders({ Authorization: `Bearer ${quireToken(A, doc)}` }))
    assert.equal(twice.status, 401)
    const basic = await rawGet(server, `/ws/${doc}`, wsHeaders({ Authorization: 'Basic dXNlcjpwYXNz' }))
    assert.equal(basic.status, 401)
  })

  test('token given twice in the query → 401', async () => {
    const doc = roomName('dup')
    const t = remember(quireToken(A, doc))
    const r = await rawGet(server, `/ws/${doc}?token=${t}&token=${t}`, wsHeaders())
    assert.equal(r.status, 401)
  })

  test('percent-encoded token and other query parameters', async () => {
    const doc = roomName('pct')
    const t = remember(quireToken(A, doc))
    const enc = t.split('').map((c) => c === '.' ? '%2E' : c).join('')
    assert.equal((await rawGet(server, `/ws/${doc}?x=1&token=${enc}&y=2`, wsHeaders())).status, 101)
    assert.equal((await rawGet(server, `/ws/${doc}?token=${t}%ZZ`, wsHeaders())).status, 401)
  })

  test('wildcard documents: prefix hit and miss', async () => {
    const t = remember(await panvaToken(A, { doc: 'team/wiki/*' }))
    for (const doc of ['team/wiki/a', 'team/wiki/deep/page', 'team/wiki/']) {
      assert.equal((await handshake(server, doc, t)).status, 101, doc)
    }
    for (const doc of ['team/wiki', 'team/wik', 'team/other/a', 'x/team/wiki/a']) {
      assert.equal((await handshake(server, doc, t)).status, 403, doc)
    }
    const all = remember(quireToken(B, '*', { scope: 'ro' }))
    assert.equal((await handshake(server, roomName('any'), all)).status, 101)
    const exact = remember(quireToken(A, 'exact'))
    assert.equal((await handshake(server, 'exact', exact)).status, 101)
    assert.equal((await handshake(server, 'exact2', exact)).status, 403)
  })

  test('Origin: only the allowed one (or none) with a valid token', async () => {
    const doc = roomName('origin')
    const t = remember(quireToken(A, doc))
    assert.equal((await handshake(server, doc, t, { Origin: GOOD_ORIGIN })).status, 101)
    assert.equal((await handshake(server, doc, t, { Origin: 'http://evil.example' })).status, 403)
    assert.equal((await handshake(server, doc, t, { Origin: GOOD_ORIGIN + ':8080' })).status, 403)
    assert.equal((await handshake(server, doc, undefined, { Origin: 'http://evil.example' })).status, 403)
  })

  test('HTTP API takes the same tokens as Authorization: Bearer', async () => {
    const doc = roomName('api')
    const c = await connectProvider(server, doc, { params: { token: remember(quireToken(A, doc)) } })
    c.doc.getText('t').insert(0, 'stored')
    try {
      await waitFor(async () => (await apiGet(server, doc, quireToken(A, doc, { scope: 'ro' }))).status === 200,
        { message: 'the document to be stored' })
    } finally {
      destroyAll(c)
    }
    assert.equal((await apiGet(server, doc)).status, 401)
    assert.equal((await apiGet(server, doc, 'garbage')).status, 401)
    assert.equal((await apiGet(server, doc, await panvaToken(C, { doc }))).status, 401)
    assert.equal((await apiGet(server, doc, quireToken(A, 'other'))).status, 403)
    assert.equal((await apiGet(server, doc, await panvaToken(B, { doc: doc.slice(0, 4) + '*' }))).status, 200)
    const q = await fetch(`${server.httpUrl}/api/docs/${doc}/update?token=${remember(quireToken(A, doc))}`)
    await q.arrayBuffer()
    assert.equal(q.status, 401, 'the HTTP API does not take tokens in the query string')
  })

  test('the server still serves after every refusal', async () => {
    const doc = roomName('after')
    const a = await connectProvider(server, doc, { params: { token: remember(quireToken(A, doc)) } })
    destroyAll(a)
    assert.ok(await metric(server, 'quire_auth_refused_total') >= 1)
  })
})

describe('read-only connections', () => {
  let server
  before(async () => { server = await startServer({ anonymous: false, args: ['--token-pubkey', A.pubPath] }) })
  after(async () => { await server.stop() })

  test('a ro client receives every edit, its awareness is relayed, its edits reach no one and are not stored', async () => {
    const doc = roomName('ro')
    const rw = await connectProvider(server, doc, { params: { token: quireToken(A, doc) } })
    const ro = await connectProvider(server, doc, { params: { token: quireToken(A, doc, { scope: 'ro' }) } })
    const origWarn = console.warn
    console.warn = () => {} // y-websocket warns about the permission-denied message
    try {
      rw.doc.getText('t').insert(0, 'from rw')
      await waitFor(() => ro.text() === 'from rw', { message: 'ro to receive the rw edit' })

      ro.awareness.setLocalStateField('user', { name: 'reader' })
      await waitFor(() => [...rw.awareness.getStates().values()].some((s) => s.user && s.user.name === 'reader'),
        { message: 'rw to see the ro client\'s presence' })

      ro.doc.getText('t').insert(0, 'EVIL ')
      ro.doc.getMap('m').set('evil', 1)
      rw.doc.getText('t').insert(rw.text().length, ' and more')
      await waitFor(() => ro.text().endsWith(' and more'), { message: 'ro to keep receiving edits' })
      await sleep(300)
      assert.equal(rw.text(), 'from rw and more', 'the ro edit reached the rw client')
      assert.equal(rw.doc.getMap('m').get('evil'), undefined)
      const stored = await fetchStored(server, doc)
      assert.equal(stored.getText('t').toString(), 'from rw and more', 'the ro edit was stored')
      assert.equal(stored.getMap('m').get('evil'), undefined)
      assert.ok(ro.provider.wsconnected, 'the ro client stays connected')
    } finally {
      console.warn = origWarn
      destroyAll(rw, ro)
    }
  })

  test('a raw ro client gets the y-protocols permission-denied message', async () => {
    const doc = roomName('ro-raw')
    const refusedBefore = await readonlyRefusals(server)
    const c = await openRaw(server, doc, { path: wsPath(doc, quireToken(A, doc, { scope: 'ro' })) })
    try {
      await c.next()
      const d = new Y.Doc()
      d.getText('t').insert(0, 'nope')
      c.send(encUpdate(Y.encodeStateAsUpdate(d)))
      const m = await c.nextMatching((x) => decodeMessage(x).type === MSG_AUTH, 5000, 'an auth message')
      const dec = decoding.createDecoder(m)
      assert.equal(decoding.readVarUint(dec), MSG_AUTH)
      assert.equal(decoding.readVarUint(dec), 0, 'permission denied')
      assert.match(decoding.readVarString(dec), /read-only/)
      assert.equal(await readonlyRefusals(server), refusedBefore + 1, 'counted in /metrics')
      // still connected and syncing
      c.send(encSyncStep1(new Uint8Array([0])))
      await c.nextMatching((x) => { const v = decodeMessage(x); return v.type === 0 && v.syncType === 1 }, 5000, 'sync step 2')
      assert.equal(c.closeInfo, null)
    } finally {
      c.close()
    }
    const stored = await fetchStored(server, doc)
    assert.equal(stored.getText('t').toString(), '')
  })
})

async function readonlyRefusals (server) {
  const n = await metric(server, 'quire_messages_rejected_total', 'reason="readonly"')
  assert.ok(n !== null, 'the readonly refusal counter is exported')
  return n
}

async function fetchStored (server, doc) {
  const res = await fetch(`${server.httpUrl}/api/docs/${doc}/update`, {
    headers: { Authorization: `Bearer ${quireToken(A, doc, { scope: 'ro' })}` }
  })
  const d = new Y.Doc()
  if (res.status === 200) Y.applyUpdate(d, new Uint8Array(await res.arrayBuffer()))
  else await res.arrayBuffer()
  return d
}

describe('a token that expires mid-session', () => {
  let server
  before(async () => { server = await startServer({ anonymous: false, args: ['--token-pubkey', A.pubPath] }) })
  after(async () => { await server.stop() })

  test('is closed with 4401 and y-websocket does not reconnect', async () => {
    const doc = roomName('exp')
    const token = await panvaToken(A, { doc }, { expiresIn: '2s' })
    const raw = await openRaw(server, doc, { path: wsPath(doc, token) })
    const p = await connectProvider(server, doc, { params: { token } })
    try {
      const info = await withDeadline(raw.closed, 8000, 'close for the expired token')
      assert.equal(info.code, 4401)
      assert.equal(info.reason, 'token expired')
      await waitFor(() => p.closes.some((c) => c.code === 4401), { message: 'the provider to see 4401' })
      await sleep(1500)
      assert.equal(p.provider.wsconnected, false)
      assert.equal(p.closes.filter((c) => c.code === 4401).length, 1, 'the provider reconnected after a permanent close')
      server.assertAlive()
    } finally {
      destroyAll(p)
    }
  })
})

describe('start-up modes', () => {
  function run (args, env = {}) {
    return spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', ...args], {
      encoding: 'utf8', timeout: 10000, env: { ...process.env, ...env }
    })
  }

  test('no key, no --allow-anonymous, no --dev: refuses to start and says what to pass', () => {
    const data = makeDataDir()
    try {
      const r = run(['--data', data])
      assert.equal(r.status, 2)
      assert.match(r.stderr, /--token-pubkey/)
      assert.match(r.stderr, /--dev/)
      assert.match(r.stderr, /--allow-anonymous/)
    } finally {
      fs.rmSync(data, { recursive: true, force: true })
    }
  })

  test('a bad --token-pubkey stops start-up with a clear message', () => {
    const data = makeDataDir()
    try {
      for (const [file, re] of [[A.secretPath, /secret key/], [path.join(keyDir, 'missing.pub'), /No such file/]]) {
        const r = run(['--data', data, '--token-pubkey', file])
        assert.equal(r.status, 2, r.stderr)
        assert.match(r.stderr, re)
        assert.ok(!r.stderr.includes(A.secret.slice(10)), 'the secret key was printed')
      }
      const junk = path.join(keyDir, 'junk.pub')
      fs.writeFileSync(junk, 'k4.public.tooshort\n')
      const r = run(['--data', data, '--token-pubkey', junk])
      assert.equal(r.status, 2)
      assert.match(r.stderr, /k4\.public/)
    } finally {
      fs.rmSync(data, { recursive: true, force: true })
    }
  })

  test('--dev without keys creates a key in the data dir and prints an editor URL with a working token', async () => {
    const server = await startServer({ anonymous: false, args: ['--dev'] })
    try {
      await waitFor(() => /editor: http:\/\/\S+#token=v4\.public\.\S+/.test(server.stdout), { message: 'the editor URL on stdout' })
      const m = /editor: (http:\/\/\S+)\/\?doc=welcome#token=(v4\.public\.\S+)/.exec(server.stdout)
      assert.ok(m, server.stdout)
      const token = m[2]
      assert.ok(!server.stderr.includes(token.slice(10, 60)), 'the dev token was logged')
      const keyFile = path.join(server.dataDir, 'dev-token-key')
      assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600)
      const pub = fs.readFileSync(keyFile + '.pub', 'utf8').trim()
      const claims = await V4.verify(token, V4.bytesToKeyObject(Buffer.from(pub.slice(10), 'base64url')))
      assert.equal(claims.doc, '*')
      assert.equal(claims.scope, 'rw')
      assert.ok(Date.parse(claims.exp) - Date.now() > 6 * 86400 * 1000)
      // one token for everybody: no sub, so the editor asks each person for a name
      assert.ok(!('sub' in claims), `the dev token has no sub (got ${JSON.stringify(claims.sub)})`)
      const doc = roomName('dev')
      assert.equal((await rawGet(server, wsPath(doc, token), wsHeaders())).status, 101)
      assert.equal((await rawGet(server, wsPath(doc), wsHeaders())).status, 401)
    } finally {
      await server.stop({ keepData: false })
    }
  })

  test('--dev reuses its key across restarts', async () => {
    const dataDir = makeDataDir()
    try {
      const s1 = await startServer({ dataDir, anonymous: false, args: ['--dev'] })
      await waitFor(() => /#token=/.test(s1.stdout), { message: 'first URL' })
      const t1 = /#token=(\S+)/.exec(s1.stdout)[1]
      await s1.stop()
      const s2 = await startServer({ dataDir, anonymous: false, args: ['--dev'] })
      try {
        await waitFor(() => /#token=/.test(s2.stdout), { message: 'second URL' })
        assert.equal((await rawGet(s2, wsPath('welcome', t1), wsHeaders())).status, 101, 'the first token still works')
      } finally {
        await s2.stop()
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })

  test('--allow-anonymous says so loudly; with keys, tokenless is rw and given tokens are still checked', async () => {
    const server = await startServer({ args: ['--token-pubkey', A.pubPath] }) // lib passes --allow-anonymous
    try {
      assert.match(server.stderr, /ANONYMOUS ACCESS/)
      const doc = roomName('anon')
      assert.equal((await rawGet(server, wsPath(doc), wsHeaders())).status, 101)
      assert.equal((await rawGet(server, wsPath(doc, 'garbage'), wsHeaders())).status, 401)
      assert.equal((await rawGet(server, wsPath(doc, await panvaToken(C, { doc })), wsHeaders())).status, 401)
      assert.equal((await rawGet(server, wsPath(doc, quireToken(A, 'other')), wsHeaders())).status, 403)
      // a ro token keeps its scope even though anonymous clients may write
      const ro = await openRaw(server, doc, { path: wsPath(doc, quireToken(A, doc, { scope: 'ro' })) })
      try {
        await ro.next()
        const d = new Y.Doc()
        d.getText('t').insert(0, 'nope')
        ro.send(encUpdate(Y.encodeStateAsUpdate(d)))
        await ro.nextMatching((x) => decodeMessage(x).type === MSG_AUTH, 5000, 'permission denied')
      } finally {
        ro.close()
      }
      // anonymous writes are accepted
      const anon = await connectProvider(server, doc)
      anon.doc.getText('t').insert(0, 'anon')
      try {
        await waitFor(async () => (await fetchDoc(server, doc)).getText('t').toString() === 'anon',
          { message: 'the anonymous edit stored' })
      } finally {
        destroyAll(anon)
      }
    } finally {
      await server.stop()
    }
  })
})
