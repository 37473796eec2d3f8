#!/usr/bin/env node
// A stand-in for the qdoc driver built on yjs itself, to check the harness:
// `node diff.mjs --qdoc ./fake-qdoc.mjs` must pass with every encodeState
// byte-identical. It knows root types by name (t text, a array, m map,
// x XmlFragment) where the C library has to infer them.
import * as Y from 'yjs'
import { createInterface } from 'node:readline'

const docs = new Map()
const last = new Map()
const hex = (u8) => u8 && u8.length ? Buffer.from(u8).toString('hex') : '-'
const unhex = (s) => s === '-' ? new Uint8Array(0) : new Uint8Array(Buffer.from(s, 'hex'))
const str = (s) => s === '-' ? '' : Buffer.from(s, 'hex').toString('utf8')
const root = (d, n) => ({ t: () => d.getText(n), a: () => d.getArray(n), m: () => d.getMap(n), x: () => d.getXmlFragment(n) })[n]()

function run (w) {
  const d = docs.get(w[1])
  const edit = (fn) => { last.set(w[1], null); fn(); return 'ok ' + hex(last.get(w[1])) }
  switch (w[0]) {
    case 'echo': return 'ok ' + (w[1] ?? '')
    case 'new': {
      const doc = new Y.Doc({ gc: w[3] !== '0' })
      doc.clientID = Number(w[2])
      doc.on('update', (u) => last.set(w[1], u))
      docs.set(w[1], doc); return 'ok'
    }
    case 'free': docs.delete(w[1]); return 'ok'
    case 'apply': last.set(w[1], null); Y.applyUpdate(d, unhex(w[2])); return 'ok'
    case 'sv': return 'ok ' + hex(Y.encodeStateVector(d))
    case 'state': return 'ok ' + hex(Y.encodeStateAsUpdate(d, w[2] ? unhex(w[2]) : undefined))
    case 'pending': return 'ok ' + (d.store.pendingStructs ? 1 : 0)
    case 'json': {
      const o = {}
      for (const r of ['t', 'a', 'm', 'x']) o[r] = root(d, r).toJSON()
      return 'ok ' + Buffer.from(JSON.stringify(o)).toString('hex')
    }
    case 'rootjson': return 'ok ' + Buffer.from(JSON.stringify(root(d, str(w[2])).toJSON())).toString('hex')
    case 'merge': return 'ok ' + hex(Y.mergeUpdates(w.slice(1).map(unhex)))
    case 'tins': return edit(() => root(d, str(w[2])).insert(Number(w[3]), str(w[4]), w[5] ? JSON.parse(str(w[5])) : undefined))
    case 'tembed': return edit(() => root(d, str(w[2])).insertEmbed(Number(w[3]), JSON.parse(str(w[4]))))
    case 'tdel': return edit(() => root(d, str(w[2])).delete(Number(w[3]), Number(w[4])))
    case 'tfmt': return edit(() => root(d, str(w[2])).format(Number(w[3]), Number(w[4]), JSON.parse(str(w[5]))))
    case 'ains': return edit(() => root(d, str(w[2])).insert(Number(w[3]), JSON.parse(str(w[4]))))
    case 'adel': return edit(() => root(d, str(w[2])).delete(Number(w[3]), Number(w[4])))
    case 'mset': return edit(() => root(d, str(w[2])).set(str(w[3]), JSON.parse(str(w[4]))))
    case 'mdel': return edit(() => root(d, str(w[2])).delete(str(w[3])))
  }
  return 'err 0 usage'
}

const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const w = line.split(' ')
  if (w[0] === 'quit') { process.stdout.write('ok\n'); process.exit(0) }
  let out
  try { out = run(w) } catch (e) { out = 'err -4 ' + e.message.replace(/\s+/g, '_') }
  process.stdout.write(out + '\n')
})
