// --trusted-proxy (docs/operations.md, "Behind a reverse proxy"): for a
// connection from a trusted proxy, the client address used by the per-address
// limits and the logs is the rightmost X-Forwarded-For element that is not a
// trusted proxy itself; X-Forwarded-For from any other peer is ignored; a
// malformed element from a trusted proxy is refused with 400.
//
// The test client plays the proxy: it connects from 127.0.0.1 (trusted) and
// sets X-Forwarded-For itself. 127.0.0.2 is a second loopback address that is
// not trusted. Every test uses --max-connections-per-ip 2, so which address a
// connection was charged to shows in which handshake gets the 429.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { QUIRE_BIN, makeDataDir, startServer } from './lib/server.mjs'
import { metric } from './lib/metrics.mjs'
import {
  connectProvider, destroyAll, fetchDoc, fetchDocUpdate, openRaw, rawGet, roomName, waitFor, waitStored,
  webSocketFrom, wsHeaders
} from './lib/yclient.mjs'

const PROXY = '127.0.0.1' // trusted in every server below
const OTHER = '127.0.0.2' // never trusted

// Opens a raw client from `from` with X-Forwarded-For `xff` (none if
// undefined) and reads the server's sync step 1: the connection was admitted.
async function join (server, room, from, xff) {
  const headers = xff === undefined ? undefined : { 'X-Forwarded-For': xff }
  const c = await openRaw(server, room, { localAddress: from, headers })
  await c.next()
  return c
}

// A handshake expected to be refused: {status, headers, body} (101 if upgraded).
function handshake (server, room, from, xff) {
  const headers = xff === undefined ? wsHeaders() : wsHeaders({ 'X-Forwarded-For': xff })
  return rawGet(server, `/ws/${room}`, headers, { localAddress: from })
}

async function assertCapped (server, room, from, xff, what) {
  const r = await handshake(server, room, from, xff)
  assert.equal(r.status, 429, `${what}: a third connection is refused (body ${JSON.stringify(r.body)})`)
  assert.match(r.body, /too many connections from this address/)
}

test('--trusted-proxy: each X-Forwarded-For client address from a trusted proxy has its own per-address cap', { timeout: 60000 }, async () => {
  // a list with IPv6 and a network, and a second flag: both forms are taken
  const server = await startServer({
    args: ['--max-connections-per-ip', '2', '--trusted-proxy', '10.0.0.0/8, fd00::/8', '--trusted-proxy', PROXY]
  })
  const room = roomName('xff')
  const refused = roomName('xff-refused')
  const open = []
  try {
    // two clients behind the proxy: 2 connections each, though all four
    // come from 127.0.0.1
    for (const client of ['198.51.100.1', '198.51.100.2']) {
      for (let i = 0; i < 2; i++) open.push(await join(server, room, PROXY, client))
    }
    assert.equal(await metric(server, 'quire_connections'), 4)
    for (const client of ['198.51.100.1', '198.51.100.2']) {
      await assertCapped(server, refused, PROXY, client, `client ${client}`)
    }
    // the address is the rightmost element: what the client wrote to the
    // left of it is ignored, and trusted proxies to the right are skipped
    await assertCapped(server, refused, PROXY, '203.0.113.50, 198.51.100.1', 'a spoofed element on the left')
    await assertCapped(server, refused, PROXY, '198.51.100.1, 10.1.2.3, 127.0.0.1', 'trusted proxies on the right')
    // two X-Forwarded-For header lines are one list
    await assertCapped(server, refused, PROXY, ['198.51.100.2', '10.9.9.9'], 'two headers')
    // a third client still gets in; the proxy's own address (no header) too
    open.push(await join(server, room, PROXY, '198.51.100.3'))
    open.push(await join(server, room, PROXY, '203.0.113.50, 198.51.100.3'))
    await assertCapped(server, refused, PROXY, '198.51.100.3', 'client 198.51.100.3')
    open.push(await join(server, room, PROXY))
    open.push(await join(server, room, PROXY))
    await assertCapped(server, refused, PROXY, undefined, 'the proxy itself')
    // an IPv6 client counts by its /64
    open.push(await join(server, room, PROXY, '2001:db8:1:2::1'))
    open.push(await join(server, room, PROXY, '2001:db8:1:2::ffff'))
    await assertCapped(server, refused, PROXY, '2001:db8:1:2:abcd::1', 'an IPv6 /64')
    open.push(await join(server, room, PROXY, '2001:db8:1:3::1'))

    assert.equal(await metric(server, 'quire_connections'), 11)
    assert.equal(await metric(server, 'quire_ip_refused_total', 'limit="connections"'), 8)
    assert.equal(await metric(server, 'quire_rooms'), 1, 'nothing opened for a refused handshake')
    assert.equal(await fetchDocUpdate(server, refused), null)
    // the log names the client, not the proxy
    assert.match(server.stderr, /refused WebSocket for xff-refused\S* from 198\.51\.100\.1: too many connections/)
    assert.match(server.stderr, /refused WebSocket for xff-refused\S* from 2001:db8:1:2::\/64: too many connections/)
    assert.equal(open.filter((c) => c.closeInfo).length, 0, 'no open connection was closed')
  } finally {
    for (const c of open) c.terminate()
    await server.stop()
  }
})

test('--trusted-proxy: X-Forwarded-For from an untrusted peer is ignored (no spoofing); without the flag it is never read', { timeout: 60000 }, async () => {
  for (const args of [['--trusted-proxy', PROXY], []]) {
    const server = await startServer({ args: ['--max-connections-per-ip', '2', ...args] })
    // with the flag, 127.0.0.2 is the untrusted peer; without, 127.0.0.1 is
    const peer = args.length ? OTHER : PROXY
    const what = args.length ? `from ${OTHER} with --trusted-proxy ${PROXY}` : `from ${PROXY} without --trusted-proxy`
    const room = roomName('xff-spoof')
    const open = []
    try {
      // different X-Forwarded-For on each: still one address, the peer's
      open.push(await join(server, room, peer, '198.51.100.1'))
      open.push(await join(server, room, peer, '198.51.100.2'))
      await assertCapped(server, room, peer, '198.51.100.3', what)
      await assertCapped(server, room, peer, undefined, what)
      assert.match(server.stderr, new RegExp(`from ${peer.replace(/\./g, '\\.')}: too many connections`))
      assert.doesNotMatch(server.stderr, /from 198\.51\.100\.\d/)
      if (args.length) {
        // the addresses it claimed were not charged: a client behind the
        // trusted proxy with one of them still has its whole cap
        open.push(await join(server, room, PROXY, '198.51.100.1'))
        open.push(await join(server, room, PROXY, '198.51.100.1'))
        await assertCapped(server, room, PROXY, '198.51.100.1', 'client 198.51.100.1 behind the proxy')
      }
      assert.equal(open.filter((c) => c.closeInfo).length, 0, 'no open connection was closed')
    } finally {
      for (const c of open) c.terminate()
      await server.stop()
    }
  }
})

test('--trusted-proxy: a malformed X-Forwarded-For from a trusted proxy gets 400; nothing opened or stored; bystanders carry on', { timeout: 60000 }, async () => {
  const server = await startServer({ args: ['--trusted-proxy', PROXY] })
  const room = roomName('xff-ok')
  const refused = roomName('xff-bad')
  let viaProxy, direct
  try {
    viaProxy = await connectProvider(server, room, { WebSocketPolyfill: webSocketFrom(PROXY, { 'X-Forwarded-For': '198.51.100.1' }) })
    viaProxy.doc.getText('t').insert(0, 'kept')
    await waitStored(server, room, viaProxy.doc)
    const roomsBefore = await metric(server, 'quire_rooms')
    const refusedBefore = await metric(server, 'quire_ws_refused_total')
    const bad = [
      'nonsense', // not an address
      '', // an empty header
      ' ',
      '198.51.100.1,', // an empty rightmost element
      '198.51.100.1:443', // a port
      '[2001:db8::1]', // brackets
      'unknown', // RFC 7239's token, not an address
      '1'.repeat(200), // too long
      '198.51.100.1, x, 127.0.0.1' // reached by the walk past a trusted proxy
    ]
    for (const xff of bad) {
      const r = await handshake(server, refused, PROXY, xff)
      assert.equal(r.status, 400, `X-Forwarded-For ${JSON.stringify(xff)} (body ${JSON.stringify(r.body)})`)
      assert.match(r.body, /malformed X-Forwarded-For from a trusted proxy/)
    }
    assert.equal(await metric(server, 'quire_ws_refused_total'), refusedBefore + bad.length)
    assert.equal(await metric(server, 'quire_rooms'), roomsBefore, 'no room opened for a refused handshake')
    assert.equal(await fetchDocUpdate(server, refused), null, 'nothing stored for a refused handshake')
    assert.match(server.stderr, /refused WebSocket for xff-bad\S* from trusted proxy 127\.0\.0\.1: malformed X-Forwarded-For element "nonsense"/)

    // the same headers from an untrusted peer are never read: admitted
    for (const xff of ['nonsense', '']) {
      const r = await handshake(server, refused, OTHER, xff)
      assert.equal(r.status, 101, `X-Forwarded-For ${JSON.stringify(xff)} from ${OTHER}`)
    }
    // a bystander behind the proxy and one connecting directly carry on
    direct = await connectProvider(server, room, { WebSocketPolyfill: webSocketFrom(OTHER, { 'X-Forwarded-For': 'nonsense' }) })
    assert.equal(direct.text(), 'kept')
    direct.doc.getText('t').insert(4, '!')
    await waitStored(server, room, direct.doc)
    await waitFor(() => viaProxy.text() === 'kept!', { message: 'the edit relayed to the client behind the proxy' })
    assert.deepEqual(viaProxy.closes, [], 'the bystander behind the proxy was never disconnected')
    assert.deepEqual(direct.closes, [])
    assert.equal((await fetchDoc(server, room)).getText('t').toString(), 'kept!')
  } finally {
    destroyAll(viaProxy, direct)
    await server.stop()
  }
})

test('--trusted-proxy: bad values stop start-up with exit 2 and say what is wrong; --help lists the flag', () => {
  const data = makeDataDir()
  function run (args, env = {}) {
    return spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', data, '--allow-anonymous', ...args], {
      encoding: 'utf8', timeout: 10000, env: { ...process.env, ...env }
    })
  }
  try {
    const cases = [
      [['--trusted-proxy', '1.2.3.4/33'], /--trusted-proxy: '1\.2\.3\.4\/33': the prefix of an IPv4 network is at most 32/],
      [['--trusted-proxy', '2001:db8::/129'], /--trusted-proxy: '2001:db8::\/129': the prefix of an IPv6 network is at most 128/],
      [['--trusted-proxy', 'nonsense'], /--trusted-proxy: 'nonsense': not an IPv4 or IPv6 address/],
      [['--trusted-proxy', '10.0.0.1/'], /--trusted-proxy: '10\.0\.0\.1\/': the prefix must be a number from 0 to 32/],
      [['--trusted-proxy', ''], /--trusted-proxy: empty value/],
      [['--trusted-proxy=10.0.0.1,,10.0.0.2'], /--trusted-proxy: an empty element in the list/],
      [['--trusted-proxy', '127.0.0.1', '--trusted-proxy', '127.0.0.1:8080'], /--trusted-proxy: '127\.0\.0\.1:8080': not an IPv4 or IPv6 address/],
      [['--trusted-proxy'], /--trusted-proxy needs a value/]
    ]
    for (const [args, re] of cases) {
      const r = run(args)
      assert.equal(r.status, 2, `quire serve ${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`)
      assert.match(r.stderr, re)
      assert.doesNotMatch(r.stderr, /listening on/)
    }
    const env = run([], { QUIRE_TRUSTED_PROXY: '10.0.0.0/8,bogus' })
    assert.equal(env.status, 2, `QUIRE_TRUSTED_PROXY=10.0.0.0/8,bogus: exit ${env.status}`)
    assert.match(env.stderr, /QUIRE_TRUSTED_PROXY: 'bogus': not an IPv4 or IPv6 address/)

    const help = spawnSync(QUIRE_BIN, ['serve', '--help'], { encoding: 'utf8', timeout: 10000 })
    assert.equal(help.status, 0)
    assert.match(help.stdout, /--trusted-proxy ADDR\[\/PREFIX\]/)
    assert.match(help.stdout, /QUIRE_TRUSTED_PROXY/)
  } finally {
    fs.rmSync(data, { recursive: true, force: true })
  }
})
