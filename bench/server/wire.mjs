// Wire formats of the three servers, encoded and decoded with lib0.
//
// quire and the y-websocket server speak the plain y-websocket protocol: one
// WebSocket message per protocol message, `varUint type` first (0 sync,
// 1 awareness, 2 auth, 3 query awareness), one document per connection (the
// document name is in the URL path).
//
// Hocuspocus (3.x) multiplexes documents over one socket: every message starts
// with `varString documentName`, then the same `varUint type`, plus its own types
// (4 SyncReply, 5 Stateless, 6 BroadcastStateless, 7 Close, 8 SyncStatus). A
// document is only attached to a connection after an auth message
// `[name][2][0 = Token][varString token]` (the server answers
// `[name][2][2 = Authenticated][varString scope]`); anything sent before that is
// queued by the server. This matches what @hocuspocus/provider sends
// (@hocuspocus/server src/ClientConnection.ts, MessageReceiver.ts,
// OutgoingMessage.ts; @hocuspocus/common src/auth.ts).

import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

export const MSG_SYNC = 0
export const MSG_AWARENESS = 1
export const MSG_AUTH = 2
export const MSG_SYNC_REPLY = 4 // Hocuspocus only
export const MSG_SYNC_STATUS = 8 // Hocuspocus only
export const SYNC_STEP1 = 0
export const SYNC_STEP2 = 1
export const SYNC_UPDATE = 2

/**
 * A protocol adapter for one server kind.
 *   url(base, doc)          WebSocket URL of a document's room
 *   hello(doc)              messages a client sends right after the socket opens
 *   step1(doc, sv)          sync step 1
 *   update(doc, u)          sync update
 *   parse(buf)              {type, sub, payload (Buffer view) } or null
 */
export function adapterFor (kind) {
  const hp = kind === 'hocuspocus'
  const prefix = (e, doc) => { if (hp) encoding.writeVarString(e, doc) }
  const msg = (doc, type, sub, payload) => {
    const e = encoding.createEncoder()
    prefix(e, doc)
    encoding.writeVarUint(e, type)
    encoding.writeVarUint(e, sub)
    encoding.writeVarUint8Array(e, payload)
    return encoding.toUint8Array(e)
  }
  return {
    kind,
    url (base, doc) { return hp ? base : `${base}/${doc}` },
    hello (doc) {
      if (!hp) return []
      const e = encoding.createEncoder()
      encoding.writeVarString(e, doc)
      encoding.writeVarUint(e, MSG_AUTH)
      encoding.writeVarUint(e, 0) // AuthMessageType.Token
      encoding.writeVarString(e, '') // no token: the server has no onAuthenticate hook
      return [encoding.toUint8Array(e)]
    },
    step1 (doc, sv) { return msg(doc, MSG_SYNC, SYNC_STEP1, sv) },
    update (doc, u) { return msg(doc, MSG_SYNC, SYNC_UPDATE, u) },
    parse (buf) { return parseMessage(buf, hp) }
  }
}

/**
 * Parse the head of one incoming message. Sync messages carry `payload` (a
 * view into `buf`: the update or state vector); other types only `type` (and
 * `sub` for auth / sync status). Throws on a truncated message.
 */
export function parseMessage (buf, hp) {
  const d = decoding.createDecoder(buf)
  if (hp) decoding.readVarUint8Array(d) // the document name
  const type = decoding.readVarUint(d)
  if (type === MSG_SYNC || type === MSG_SYNC_REPLY) {
    const sub = decoding.readVarUint(d)
    const len = decoding.readVarUint(d)
    // lib0 does not check a length against the end (a view may reach into the
    // rest of a pooled Buffer)
    if (d.pos + len > buf.length) throw new Error('sync payload past the end')
    return { type: MSG_SYNC, sub, payload: decoding.readUint8Array(d, len) }
  }
  if (type === MSG_AUTH || type === MSG_SYNC_STATUS) {
    return { type, sub: decoding.readVarUint(d) }
  }
  return { type }
}

/**
 * The (client, clock) of the first struct of a Yjs v1 update:
 * varUint #clients, then per client varUint #structs, varUint client,
 * varUint clock. Returns null for an update without structs.
 */
export function firstStructId (u) {
  const d = decoding.createDecoder(u)
  if (decoding.readVarUint(d) === 0) return null // #clients
  const nstructs = decoding.readVarUint(d)
  const client = decoding.readVarUint(d)
  const clock = decoding.readVarUint(d)
  if (nstructs === 0) return null
  return { client, clock }
}
