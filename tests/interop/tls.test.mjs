// TLS (reliability.md D6): with --tls-cert and --tls-key quire serves HTTPS
// and wss:// only: y-websocket clients sync over wss, the HTTP API and the
// editor's files come over HTTPS; TLS 1.2 and 1.3 are accepted, 1.0 and 1.1
// refused; ALPN never selects h2 (WebSocket needs HTTP/1.1); plain HTTP on
// the port gets no answer and the server carries on. Bad files stop start-up
// with exit 2: a key readable by others, a key that is not the certificate's,
// a missing file, one flag without the other.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { startServer, makeDataDir, QUIRE_BIN } from './lib/server.mjs'
import { connectProvider, destroyAll, fetchDoc, roomName, waitFor, waitStored } from './lib/yclient.mjs'

let dir, cert, key, ca
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-tls-'))
  const mk = (name) => {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, name + '.key'), '-out', path.join(dir, name + '.crt'), '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { encoding: 'utf8', timeout: 30000 })
    assert.equal(r.status, 0, `openssl req: ${r.stderr}`)
    fs.chmodSync(path.join(dir, name + '.key'), 0o600)
    return [path.join(dir, name + '.crt'), path.join(dir, name + '.key')]
  }
  ;[cert, key] = mk('server')
  mk('other')
  ca = fs.readFileSync(cert)
  // the clients below (fetch, ws, y-websocket) trust the test's self-signed certificate
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
})
after(() => { fs.rmSync(dir, { recursive: true, force: true }) })

/** A TLS handshake with these options: { version, alpn } or { error }. */
function handshake (server, opts) {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: server.port, ca, servername: 'localhost', ...opts })
    s.once('secureConnect', () => { resolve({ version: s.getProtocol(), alpn: s.alpnProtocol }); s.end() })
    s.once('error', (e) => resolve({ error: e.code || e.message }))
    s.setTimeout(5000, () => { resolve({ error: 'timeout' }); s.destroy() })
  })
}

test('over TLS: y-websocket clients sync over wss, the HTTP API and the editor answer over HTTPS', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--tls-cert', cert, '--tls-key', key] })
  let a, b
  try {
    assert.equal(server.scheme, 'https')
    assert.match(server.stderr, /TLS: certificate .*, TLS 1\.2 and 1\.3 only, HTTP\/1\.1/)
    const doc = roomName('tls')
    a = await connectProvider(server, doc)
    b = await connectProvider(server, doc)
    a.doc.getText('t').insert(0, 'over wss')
    await waitFor(() => b.doc.getText('t').toString() === 'over wss', { message: 'the edit to reach the other client' })
    await waitStored(server, doc, a.doc)
    assert.equal((await fetchDoc(server, doc)).getText('t').toString(), 'over wss')
    const h = await fetch(`${server.httpUrl}/healthz`)
    assert.equal(h.status, 200)
    const page = await fetch(`${server.httpUrl}/`)
    assert.ok([200, 404].includes(page.status), `GET / over HTTPS: ${page.status}`)
    await page.arrayBuffer()
  } finally {
    destroyAll(a, b)
    await server.stop()
  }
})

test('TLS 1.2 and 1.3 are accepted, 1.0 and 1.1 refused; ALPN never selects h2; plain HTTP gets no answer', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--tls-cert', cert, '--tls-key', key] })
  try {
    assert.equal((await handshake(server, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })).version, 'TLSv1.3')
    assert.equal((await handshake(server, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).version, 'TLSv1.2')
    for (const v of ['TLSv1', 'TLSv1.1']) {
      // the client is allowed the old version (security level 0), so the refusal is the server's
      const r = await handshake(server, { minVersion: v, maxVersion: v, ciphers: 'DEFAULT:@SECLEVEL=0' })
      assert.ok(r.error, `${v} was accepted`)
    }
    const alpn = await handshake(server, { ALPNProtocols: ['h2', 'http/1.1'] })
    assert.ok(!alpn.error, alpn.error)
    assert.notEqual(alpn.alpn, 'h2')
    // a plain HTTP request to the TLS port: no HTTP answer
    const plain = await new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: server.port, path: '/healthz', timeout: 5000 }, (res) => resolve(`status ${res.statusCode}`))
      req.on('error', (e) => resolve(`error ${e.code}`))
      req.on('timeout', () => { req.destroy(); resolve('timeout') })
    })
    assert.match(plain, /^(error|timeout)/, `plain HTTP was answered: ${plain}`)
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200, 'still serving')
  } finally {
    await server.stop()
  }
})

test('bad TLS files stop start-up with exit 2 and say why', () => {
  const other = [path.join(dir, 'other.crt'), path.join(dir, 'other.key')]
  const open = path.join(dir, 'open.key')
  fs.copyFileSync(key, open)
  fs.chmodSync(open, 0o644)
  const encrypted = path.join(dir, 'encrypted.key')
  const enc = spawnSync('openssl', ['pkey', '-in', key, '-out', encrypted, '-aes256', '-passout', 'pass:secret'], { encoding: 'utf8' })
  assert.equal(enc.status, 0, enc.stderr)
  fs.chmodSync(encrypted, 0o600)
  const fifo = path.join(dir, 'fifo.key')
  assert.equal(spawnSync('mkfifo', ['-m', '600', fifo]).status, 0)
  const run = (...args) => spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', makeDataDir(), '--allow-anonymous', ...args], { encoding: 'utf8', timeout: 10000 })
  for (const [args, why] of [
    [['--tls-cert', cert], /--tls-cert and --tls-key go together/],
    [['--tls-key', key], /--tls-cert and --tls-key go together/],
    [['--tls-cert', cert, '--tls-key', open], /other users may read or write it \(mode 0644\).*chmod 600/],
    [['--tls-cert', cert, '--tls-key', encrypted], /encrypted with a passphrase/],
    [['--tls-cert', cert, '--tls-key', fifo], /--tls-key .*fifo\.key: not a regular file/],
    [['--tls-cert', cert, '--tls-key', other[1]], /is not the key of --tls-cert/],
    [['--tls-cert', path.join(dir, 'missing.crt'), '--tls-key', key], /--tls-cert .*missing\.crt/],
    [['--tls-cert', key, '--tls-key', key], /--tls-cert /],
    [['--tls-cert', cert, '--tls-key', path.join(dir, 'missing.key')], /--tls-key .*No such file/]
  ]) {
    const r = run(...args)
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`)
    assert.match(r.stderr, why, args.join(' '))
    assert.doesNotMatch(r.stderr, /listening on/)
  }
})

test('a key its group may read (root:ssl-cert 0640, as Debian keeps them) is taken with a warning', { timeout: 30000 }, async () => {
  const grp = path.join(dir, 'group.key')
  fs.copyFileSync(key, grp)
  fs.chmodSync(grp, 0o640)
  const server = await startServer({ args: ['--tls-cert', cert, '--tls-key', grp] })
  try {
    assert.match(server.stderr, /--tls-key .*group\.key: its group may read it \(mode 0640\)/)
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200)
  } finally {
    await server.stop()
  }
})

test('SIGHUP reloads the certificate and key: new connections get the new one, an open wss connection stays; bad files keep the old ones', { timeout: 60000 }, async () => {
  const live = [path.join(dir, 'live.crt'), path.join(dir, 'live.key')]
  const install = (crt, k) => {
    fs.copyFileSync(crt, live[0])
    fs.copyFileSync(k, live[1])
    fs.chmodSync(live[1], 0o600)
  }
  install(cert, key)
  const fingerprint = (f) => new crypto.X509Certificate(fs.readFileSync(f)).fingerprint256
  const served = (server) => new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256)
      s.end()
    })
    s.once('error', reject)
  })
  const server = await startServer({ args: ['--tls-cert', live[0], '--tls-key', live[1]] })
  let p
  try {
    assert.equal(await served(server), fingerprint(cert))
    const doc = roomName('tls-reload')
    p = await connectProvider(server, doc)
    install(path.join(dir, 'other.crt'), path.join(dir, 'other.key'))
    process.kill(server.pid, 'SIGHUP')
    await waitFor(async () => (await served(server)) === fingerprint(path.join(dir, 'other.crt')), { timeout: 5000, message: 'the new certificate to be served' })
    assert.match(server.stderr, /SIGHUP: TLS certificate and key reloaded/)
    assert.deepEqual(p.closes, [], 'the open connection stays')
    p.doc.getText('t').insert(0, 'still here')
    await waitStored(server, doc, p.doc)
    // a bad pair: the one in use stays
    fs.copyFileSync(cert, live[0]) // not the key's certificate
    process.kill(server.pid, 'SIGHUP')
    await waitFor(() => /SIGHUP: the TLS certificate and key were not reloaded; the ones in use stay/.test(server.stderr), { timeout: 5000, message: 'the refusal to be logged' })
    assert.equal(await served(server), fingerprint(path.join(dir, 'other.crt')))
  } finally {
    destroyAll(p)
    await server.stop()
  }
})
