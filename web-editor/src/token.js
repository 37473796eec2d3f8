// Reading (not verifying) the claims of a quire session token.
//
// A token is PASETO v4.public: "v4.public." + base64url(message || signature)
// [+ "." + base64url(footer)], where message is the JSON claims and the
// signature is 64 bytes of Ed25519. The server verifies it; the page only looks
// inside to pick a display name (`sub`), to know when it expires (`exp`), which
// document it is for (`doc`) and whether it may write (`scope`). A token the
// page cannot read is still sent: the server has the last word.

const PREFIX = 'v4.public.'
const SIG_BYTES = 64

function base64urlToBytes (s) {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4)
  try {
    const bin = atob(b64)
    const out = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
    return out
  } catch {
    return null
  }
}

/**
 * @param {string} token
 * @returns {{sub?: string, doc?: string, scope?: string, exp?: Date, nbf?: Date} | null}
 *   the claims, or null if this is not a readable v4.public token
 */
export function readClaims (token) {
  if (typeof token !== 'string' || !token.startsWith(PREFIX)) return null
  const body = token.slice(PREFIX.length).split('.')[0]
  const bytes = base64urlToBytes(body)
  if (!bytes || bytes.length <= SIG_BYTES) return null
  let claims
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, bytes.length - SIG_BYTES)))
  } catch {
    return null
  }
  if (!claims || typeof claims !== 'object') return null
  const out = {}
  if (typeof claims.sub === 'string' && claims.sub) out.sub = claims.sub
  if (typeof claims.doc === 'string') out.doc = claims.doc
  if (claims.scope === 'rw' || claims.scope === 'ro') out.scope = claims.scope
  for (const k of ['exp', 'nbf']) {
    if (typeof claims[k] === 'string') {
      const t = Date.parse(claims[k])
      if (!Number.isNaN(t)) out[k] = new Date(t)
    }
  }
  return out
}

/** Does a token's `doc` claim (a name, or a prefix ending in `*`) cover `doc`? */
export function claimCoversDoc (claim, doc) {
  if (typeof claim !== 'string') return true // unknown: let the server decide
  return claim.endsWith('*') ? doc.startsWith(claim.slice(0, -1)) : claim === doc
}
