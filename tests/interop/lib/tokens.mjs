// Token helpers for interop tests: keys from `quire keygen`, tokens from
// `quire token` and from the independent npm `paseto` package (panva).

import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { V2, V4 } from 'paseto'
import { QUIRE_BIN } from './server.mjs'

export { V2, V4 }

/** `quire keygen --out dir/name`: paths, the printed k4.pid, and Node KeyObjects. */
export function keygen (dir, name) {
  const secretPath = path.join(dir, name)
  const pid = execFileSync(QUIRE_BIN, ['keygen', '--out', secretPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  const secret = fs.readFileSync(secretPath, 'utf8').trim()
  const pub = fs.readFileSync(secretPath + '.pub', 'utf8').trim()
  return {
    secretPath,
    pubPath: secretPath + '.pub',
    pid,
    secret,
    pub,
    secretKey: V4.bytesToKeyObject(Buffer.from(secret.slice('k4.secret.'.length), 'base64url')),
    publicKey: V4.bytesToKeyObject(Buffer.from(pub.slice('k4.public.'.length), 'base64url'))
  }
}

/** `quire token ...` → the token (throws with stderr on failure). */
export function quireToken (key, doc, { scope, ttl, sub } = {}) {
  const args = ['token', '--key', key.secretPath, '--doc', doc]
  if (scope) args.push('--scope', scope)
  if (ttl !== undefined) args.push('--ttl', String(ttl))
  if (sub !== undefined) args.push('--sub', sub)
  const r = spawnSync(QUIRE_BIN, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`quire ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout.trim()
}

/**
 * A token minted by panva's `paseto`: claims {doc, scope} plus options
 * (expiresIn '5m' by default; pass expiresIn: null for none), footer
 * {"kid": key.pid} unless kid: false.
 */
export async function panvaToken (key, claims, { expiresIn = '5m', kid = true, ...opts } = {}) {
  const o = { ...opts }
  if (expiresIn) o.expiresIn = expiresIn
  if (kid) o.footer = JSON.stringify({ kid: typeof kid === 'string' ? kid : key.pid })
  return V4.sign({ scope: 'rw', ...claims }, key.secretKey, o)
}

/** Flip one base64url character at index i of a token part (0: payload+signature). */
export function flipChar (token, i) {
  const chars = token.split('')
  chars[i] = chars[i] === 'A' ? 'B' : 'A'
  return chars.join('')
}
