// Clients for interop tests: real y-websocket providers, a raw WebSocket client
// that speaks the protocol byte by byte, HTTP helpers and bounded waits.

import http from 'node:http'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

export { Y, WebSocket, syncProtocol, awarenessProtocol, encoding, decoding }

export const MSG_SYNC = 0
export const MSG_AWARENESS = 1
export const MSG_AUTH = 2
export const MSG_QUERY_AWARENESS = 3
export const SYNC_STEP1 = 0
export const SYNC_STEP2 = 1
export const SYNC_UPDATE = 2

let roomCounter = 0
/** A fresh, valid, unique document name for this test run. */
export function roomName (prefix = 'room') {
  roomCounter++
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${roomCounter}`
}

export function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Poll `cond` until it returns truthy or `timeout` ms pass (then throw with
 * `message`, which may be a function for a late description). Bounded in time
 * and in iterations.
 */
export async function waitFor (cond, { timeout = 10000, interval = 20, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout
  for (let i = 0; ; i++) {
    const v = await cond()
    if (v) return v
    if (Date.now() >= deadline || i > timeout / interval + 1000) {
      throw new Error(`timed out after ${timeout} ms waiting for ${typeof message === 'function' ? message() : message}`)
    }
    await sleep(interval)
  }
}

// ---------------------------------------------------------------------------
// y-websocket providers

/**
 * Connect a real y-websocket provider to `server` for `docName`, with a new
 * Y.Doc unless one is given. Waits until synced (unless {waitSynced:false}).
 * The returned object records every connection close in `closes`.
 */
export async function connectProvider (server, docName, { doc = new Y.Doc(), waitSynced = true, timeout = 10000, ...opts } = {}) {
  const provider = new WebsocketProvider(server.wsUrl, docName, doc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true,
    ...opts
  })
  const client = {
    doc,
    provider,
    awareness: provider.awareness,
    closes: [],
    text (name = 't') { return doc.getText(name).toString() },
    destroyed: false,
    destroy () {
      if (client.destroyed) return
      client.destroyed = true
      provider.destroy()
      doc.destroy()
    }
  }
  provider.on('connection-close', (ev) => {
    client.closes.push(ev ? { code: ev.code, reason: ev.reason } : { code: null, reason: 'local' })
  })
  if (waitSynced) {
    try {
      await waitFor(() => provider.synced, {
        timeout,
        message: () => `provider for "${docName}" to sync (closes so far: ${JSON.stringify(client.closes)})`
      })
    } catch (e) {
      client.destroy()
      throw e
    }
  }
  return client
}

/** Destroy all given clients (providers + docs), ignoring nulls. */
export function destroyAll (...clients) {
  for (const c of clients.flat()) {
    if (c) c.destroy()
  }
}

// ---------------------------------------------------------------------------
// Raw protocol client

/**
 * A WebSocket class for connectProvider's WebSocketPolyfill whose sockets
 * connect from `localAddress` (e.g. 127.0.0.2: another client address),
 * sending extra handshake `headers` if given (e.g. X-Forwarded-For).
 */
export function webSocketFrom (localAddress, headers) {
  return class extends WebSocket {
    constructor (url, protocols) { super(url, protocols, { localAddress, headers }) }
  }
}

/**
 * A raw WebSocket client on /ws/{docName}. Collects every incoming message;
 * `next()` waits for the next one, `closed` resolves to {code, reason}.
 * `localAddress` and `headers` go to the handshake (see webSocketFrom).
 */
export function rawClient (server, docName, { path = null, protocols, localAddress, headers } = {}) {
  const url = path ? `ws://${server.host}:${server.port}${path}` : `${server.wsUrl}/${docName}`
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, localAddress, headers })
  ws.binaryType = 'nodebuffer'
  const client = {
    ws,
    url,
    messages: [], // every message received, in order: Uint8Array (binary) or string (text)
    cursor: 0,
    error: null,
    closeInfo: null,
    opened: null,
    closed: null,
    waiters: [],
    send (data) { ws.send(data) },
    /** Next unread message (Uint8Array), waiting up to `timeout` ms. */
    async next (timeout = 5000) {
      const deadline = Date.now() + timeout
      while (client.cursor >= client.messages.length) {
        if (client.closeInfo) throw new Error(`socket closed (${client.closeInfo.code}) while waiting for a message`)
        if (Date.now() >= deadline) throw new Error(`no message within ${timeout} ms`)
        await new Promise((resolve) => {
          const t = setTimeout(resolve, Math.max(1, deadline - Date.now()))
          client.waiters.push(() => { clearTimeout(t); resolve() })
        })
      }
      return client.messages[client.cursor++]
    },
    /** Wait for the next message matching pred (skipping others). */
    async nextMatching (pred, timeout = 5000, what = 'a matching message') {
      const deadline = Date.now() + timeout
      for (;;) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no ${what} within ${timeout} ms`)
        let m
        try { m = await client.next(left) } catch (e) { throw new Error(`no ${what}: ${e.message}`) }
        if (pred(m)) return m
      }
    },
    /** Skip everything received so far (and what arrives within `quietMs`). */
    async drain (quietMs = 200) {
      await sleep(quietMs)
      client.cursor = client.messages.length
    },
    close (code, reason) { ws.close(code, reason) },
    terminate () { ws.terminate() }
  }
  const wake = () => { const w = client.waiters; client.waiters = []; w.forEach((f) => f()) }
  client.opened = new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('unexpected-response', (req, res) => {
      reject(Object.assign(new Error(`unexpected HTTP response ${res.statusCode}`), { status: res.statusCode }))
    })
    ws.once('error', reject)
  })
  client.opened.catch(() => {})
  ws.on('error', (e) => { client.error = e })
  ws.on('message', (data, isBinary) => {
    client.messages.push(isBinary ? new Uint8Array(data) : data.toString())
    wake()
  })
  client.closed = new Promise((resolve) => {
    ws.on('close', (code, reason) => {
      client.closeInfo = { code, reason: reason.toString() }
      wake()
      resolve(client.closeInfo)
    })
  })
  return client
}

/** Open a raw client and wait until the upgrade completed. */
export async function openRaw (server, docName, opts) {
  const c = rawClient(server, docName, opts)
  await withDeadline(c.opened, 10000, `WebSocket open for ${c.url}`)
  return c
}

export async function withDeadline (promise, ms, what) {
  let t
  try {
    return await Promise.race([
      promise,
      new Promise((resolve, reject) => { t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms) })
    ])
  } finally {
    clearTimeout(t)
  }
}

// Message encoders (y-websocket framing, §6.1).
export function encSyncStep1 (sv) {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, MSG_SYNC)
  encoding.writeVarUint(e, SYNC_STEP1)
  encoding.writeVarUint8Array(e, sv)
  return encoding.toUint8Array(e)
}
export function encSyncStep2 (update) {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, MSG_SYNC)
  encoding.writeVarUint(e, SYNC_STEP2)
  encoding.writeVarUint8Array(e, update)
  return encoding.toUint8Array(e)
}
export function encUpdate (update) {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, MSG_SYNC)
  encoding.writeVarUint(e, SYNC_UPDATE)
  encoding.writeVarUint8Array(e, update)
  return encoding.toUint8Array(e)
}
export function encAwareness (awarenessUpdate) {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, MSG_AWARENESS)
  encoding.writeVarUint8Array(e, awarenessUpdate)
  return encoding.toUint8Array(e)
}

/**
 * Decode one y-websocket message into {type, syncType?, payload?, awareness?}.
 * awareness is an array of {client, clock, state}.
 */
export function decodeMessage (msg) {
  if (typeof msg === 'string') return { type: 'text', text: msg }
  const d = decoding.createDecoder(msg)
  const type = decoding.readVarUint(d)
  if (type === MSG_SYNC) {
    const syncType = decoding.readVarUint(d)
    const payload = decoding.readVarUint8Array(d)
    return { type, syncType, payload }
  }
  if (type === MSG_AWARENESS) {
    const upd = decoding.readVarUint8Array(d)
    return { type, awareness: decodeAwarenessUpdate(upd) }
  }
  return { type }
}

export function decodeAwarenessUpdate (upd) {
  const d = decoding.createDecoder(upd)
  const n = decoding.readVarUint(d)
  const out = []
  for (let i = 0; i < n; i++) {
    const client = decoding.readVarUint(d)
    const clock = decoding.readVarUint(d)
    const state = JSON.parse(decoding.readVarString(d))
    out.push({ client, clock, state })
  }
  return out
}

export function hex (u8, max = 64) {
  const s = Buffer.from(u8.slice(0, max)).toString('hex').replace(/(..)/g, '$1 ').trim()
  return u8.length > max ? `${s} … (${u8.length} bytes)` : s
}

// ---------------------------------------------------------------------------
// HTTP

/** GET /api/docs/{doc}/update → Uint8Array, or null on 404. Throws on other statuses. */
export async function fetchDocUpdate (server, docName) {
  const res = await fetch(`${server.httpUrl}/api/docs/${docName}/update`, { signal: AbortSignal.timeout(10000) })
  if (res.status === 404) { await res.arrayBuffer(); return null }
  if (res.status !== 200) {
    throw new Error(`GET /api/docs/${docName}/update → ${res.status} ${await res.text()}`)
  }
  return new Uint8Array(await res.arrayBuffer())
}

/** The stored document as a fresh Y.Doc (empty doc if never written). */
export async function fetchDoc (server, docName) {
  const u = await fetchDocUpdate(server, docName)
  const doc = new Y.Doc()
  if (u) Y.applyUpdate(doc, u)
  return doc
}

/** Do two docs hold the same state (equal state vectors and delete sets)? */
export function sameState (a, b) {
  return Y.equalSnapshots(Y.snapshot(a), Y.snapshot(b))
}

/** A short description of a doc's state, for failure messages. */
export function describeState (doc) {
  const sv = Object.fromEntries(Y.decodeStateVector(Y.encodeStateVector(doc)))
  return `sv=${JSON.stringify(sv)} text(t).length=${doc.getText('t').length}`
}

/**
 * Wait until the stored document (GET /api/docs/{doc}/update) holds exactly
 * the state of `doc`; returns the stored Y.Doc.
 */
export async function waitStored (server, docName, doc, timeout = 15000) {
  let last = null
  return waitFor(async () => {
    last = await fetchDoc(server, docName)
    return sameState(last, doc) ? last : null
  }, {
    timeout,
    message: () => `stored "${docName}" to equal the client (client ${describeState(doc)}; stored ${last ? describeState(last) : '-'})`
  })
}

/**
 * A raw HTTP/1.1 GET with arbitrary headers (for handshake tests), from
 * `localAddress` if given. Resolves {status, headers, body} — status 101 (and
 * an empty body) when the server upgraded.
 */
export function rawGet (server, path, headers = {}, { localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: server.host, port: server.port, path, method: 'GET', headers, localAddress, timeout: 10000
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve({ status: res.statusCode, headers: res.headers, body: '' })
    })
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
    })
    req.on('timeout', () => req.destroy(new Error(`no response to GET ${path} within 10 s`)))
    req.on('error', reject)
    req.end()
  })
}

/** Headers of a well-formed WebSocket handshake, to be overridden per test. */
export function wsHeaders (over = {}) {
  const h = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=='
  }
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete h[k]
    else h[k] = v
  }
  return h
}

// ---------------------------------------------------------------------------
// Random editing

export { rng } from './rng.mjs'

// Code points, not UTF-16 units: includes multi-byte and astral characters
// (Yjs counts string lengths in UTF-16 units; the server must too).
const ALPHABET = Array.from('abcdefghijklmnopqrstuvwxyzäö€😀')

/** Move a UTF-16 position off the middle of a surrogate pair (editors never split one). */
function snap (str, pos) {
  const c = str.charCodeAt(pos - 1)
  return (pos > 0 && c >= 0xd800 && c <= 0xdbff) ? pos - 1 : pos
}

/** One random insert or delete on a Y.Text, at code point boundaries. */
export function randomEdit (text, rand, tag = 'x') {
  const str = text.toString()
  const len = str.length
  if (len > 0 && rand() < 0.35) {
    const pos = snap(str, Math.floor(rand() * len))
    const end = snap(str, Math.min(len, pos + 1 + Math.floor(rand() * 5)))
    if (end > pos) text.delete(pos, end - pos)
  } else {
    const pos = snap(str, Math.floor(rand() * (len + 1)))
    let s = tag
    const k = Math.floor(rand() * 4)
    for (let i = 0; i < k; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)]
    text.insert(pos, s)
  }
}
