// The connection to quire: a y-websocket provider whose reconnect schedule is
// ours (exponential backoff with jitter, shown to the user as "retrying in N s")
// and which finds out *why* a connection was refused.
//
// A browser cannot see the HTTP status of a refused WebSocket handshake: the
// socket just closes without ever opening. When that happens we ask the HTTP
// API the same question (GET /api/docs/{doc}/sv with the same token): 401 means
// the token is missing, invalid or expired, 403 that it is for another document
// (or this page's origin is not allowed), 400 a bad document name; those are
// final and we stop. A network error means the server is down: keep retrying.
// After an upgrade, close codes 4400-4499 are final refusals, everything else
// (4500-4599 included) is transient.

import { WebsocketProvider } from 'y-websocket'
import * as authProtocol from 'y-protocols/auth'

export const BACKOFF_BASE_MS = 1000
export const BACKOFF_MAX_MS = 30000
const PROBE_TIMEOUT_MS = 5000

/** Backoff for the n-th consecutive failure (n >= 1): half fixed, half random. */
export function backoffDelay (n, rnd = Math.random) {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(n - 1, 16))
  return Math.round(cap / 2 + rnd() * cap / 2)
}

/**
 * States reported to onChange:
 *   {kind: 'connecting'}                     a socket is being opened
 *   {kind: 'syncing'}                        open, exchanging state
 *   {kind: 'live'}                           in sync; edits flow both ways
 *   {kind: 'offline', retryAt, why}          closed; the next try is at retryAt (ms epoch)
 *   {kind: 'refused', reason, status, code, detail}   final: needs a new link/token
 */
export class Connection {
  constructor ({ serverUrl, apiBase, doc, ydoc, awareness, token, onChange, onDenied, onSyncRequest }) {
    this.doc = doc
    this.apiBase = apiBase
    this.token = token
    this.onChange = onChange || (() => {})
    this.onDenied = onDenied || (() => {})
    this.onSyncRequest = onSyncRequest || (() => {})
    this.failures = 0 // consecutive failed connections (reset when synced)
    this.neverOpened = 0 // consecutive sockets that closed before opening
    this.opened = false
    this.timer = null
    this.switching = false
    this.state = { kind: 'connecting' }
    this.everSynced = false

    this.provider = new WebsocketProvider(serverUrl, doc, ydoc, {
      connect: false,
      awareness,
      params: token ? { token } : {},
      // Tabs of one browser must not sync behind the server's back: the server
      // is the one that checks tokens and stores edits.
      disableBc: true,
      // We decide about reconnecting ourselves (see _onClose).
      shouldReconnect: () => true,
      maxBackoffTime: BACKOFF_MAX_MS
    })
    // y-protocols "permission denied" (a read-only token tried to write).
    this.provider.messageHandlers[2] = (_enc, decoder, provider) => {
      authProtocol.readAuthMessage(decoder, provider.doc, (_doc, reason) => this.onDenied(reason))
    }
    // A sync step 1 from the server asks for everything this tab has that the
    // server lacks (y-websocket answers it with a sync step 2). Besides the
    // one at each connect, quire sends one to a tab whose edits it refused
    // for --max-doc-size, once deletions have made room: the answer carries
    // them. (The sync type is the next byte: 0 for step 1.)
    const sync = this.provider.messageHandlers[0]
    this.provider.messageHandlers[0] = (encoder, decoder, provider, emitSynced, type) => {
      const step1 = decoder.arr[decoder.pos] === 0
      sync(encoder, decoder, provider, emitSynced, type)
      if (step1) this.onSyncRequest()
    }
    this.provider.on('status', ({ status }) => {
      if (status === 'connecting') {
        this.opened = false
        this._set({ kind: 'connecting' })
      } else if (status === 'connected') {
        this.opened = true
        this.neverOpened = 0
        this._set({ kind: 'syncing' })
      }
    })
    this.provider.on('sync', (synced) => {
      if (synced) {
        this.failures = 0
        this.everSynced = true
        this._set({ kind: 'live' })
      }
    })
    this.provider.on('connection-close', (event) => this._onClose(event))

    this._online = () => { if (this.state.kind === 'offline') this.retryNow() }
    window.addEventListener('online', this._online)
  }

  start () {
    this.provider.connect()
  }

  retryNow () {
    if (this.state.kind === 'refused') return
    clearTimeout(this.timer)
    this.timer = null
    if (this.provider.ws === null) this.provider.connect()
  }

  /** Use a new token (an embedding page sent a fresh one, or the user pasted one). */
  setToken (token) {
    this.token = token
    this.provider.params = token ? { token } : {}
    this.failures = 0
    this.neverOpened = 0
    clearTimeout(this.timer)
    this.timer = null
    if (this.provider.ws !== null) {
      this.switching = true
      this.provider.disconnect() // closes the socket; _onClose sees event === null
      this.switching = false
    }
    this.state = { kind: 'connecting' }
    this.provider.connect()
  }

  destroy () {
    clearTimeout(this.timer)
    window.removeEventListener('online', this._online)
    this.provider.destroy()
  }

  _set (state) {
    this.state = state
    this.onChange(state)
  }

  _onClose (event) {
    // Stop y-websocket's own retry; ours is scheduled below.
    this.provider.shouldConnect = false
    const opened = this.opened
    this.opened = false
    if (event && event.code >= 4400 && event.code < 4500) {
      this._refuse({ reason: 'closed', code: event.code, detail: event.reason || '' })
      return
    }
    if (this.switching) return // our own disconnect() in setToken(): it reconnects itself
    this.failures++
    if (!opened) this.neverOpened++
    const delay = backoffDelay(this.failures)
    const why = opened ? 'lost' : 'unreachable'
    this._schedule(delay, why)
    if (!opened) this._probe()
  }

  _schedule (delay, why) {
    clearTimeout(this.timer)
    const retryAt = Date.now() + delay
    this.timer = setTimeout(() => {
      this.timer = null
      if (this.state.kind !== 'refused') this.provider.connect()
    }, delay)
    this._set({ kind: 'offline', retryAt, why })
  }

  _refuse (info) {
    clearTimeout(this.timer)
    this.timer = null
    this.provider.shouldConnect = false
    this._set({ kind: 'refused', ...info })
  }

  // Ask the HTTP API why the WebSocket was refused.
  async _probe () {
    const url = `${this.apiBase}/api/docs/${this.doc}/sv`
    const headers = this.token ? { Authorization: 'Bearer ' + this.token } : {}
    let res
    let body = ''
    try {
      res = await fetch(url, { headers, cache: 'no-store', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
      if (res.status >= 400) body = (await res.text()).trim().slice(0, 300)
    } catch {
      return // the server is unreachable: keep retrying, the state already says offline
    }
    if (this.state.kind === 'live' || this.state.kind === 'refused') return
    // 500 "damaged": the server refuses the document until it is restored
    // (a damaged stored copy); retrying cannot help
    if (res.status === 401 || res.status === 403 || res.status === 400 || (res.status === 500 && /damaged/.test(body))) {
      this._refuse({ reason: 'http', status: res.status, detail: body })
    } else if (this.state.kind === 'offline') {
      // The server answers HTTP but refused the socket: a limit (503), a proxy
      // that does not pass WebSockets, or an Origin the server does not allow.
      const why = res.status === 503 ? 'busy' : (this.neverOpened >= 3 ? 'ws-refused' : this.state.why)
      this._set({ ...this.state, why })
    }
  }
}
