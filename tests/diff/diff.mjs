#!/usr/bin/env node
// Differential test: quire's crdt (through the qdoc driver) against yjs 13.6.33.
//
// Each case drives 1–4 yjs replicas (fixed seed, fixed clientIDs, some ≥ 2^31)
// through random concurrent edits on every type, syncing replicas at random
// points, and records every update event. Then, for several delivery orders of
// those updates (emission order, shuffled, shuffled with duplicates, reversed
// so that almost everything waits as pending, chunks merged by
// qc_update_merge, the replicas' full states), a C doc and a fresh yjs doc Y'
// receive exactly the same sequence, and at a random midpoint and at the end:
//
//   json   every root's JSON from C (qc_doc_root_json, and the same values in
//          qc_doc_json) equals Y''s toJSON() of that root, compared as
//          JSON.parse'd values with util.isDeepStrictEqual. Documented
//          exceptions (counted in the summary), all because the root's type
//          is not on the wire: a root C never saw reads null, an emptied
//          root may read as any empty value (null, "", [], {}); the XmlFragment root "x" may read as the array
//          of its children's XML strings (compared joined).
//   sv     C's state vector equals Y''s (compared as maps).
//   state  C's encodeState, applied to a fresh yjs doc, gives the same
//          toDelta() of the text, toJSON() of array and map, toString() of the
//          XML fragment, and the same state vector as Y'.
//   bytes  C's encodeState equals Y.encodeStateAsUpdate(Y') byte for byte:
//          counted for every case, asserted for the single-client text cases.
//   pending after the full sequence nothing is pending on either side.
//   leaks  the doc's counting allocator is back to 0 bytes after qc_doc_free.
//
// The "cpeer" class makes the C doc one of the replicas: it edits through
// qc_text_insert/delete/format/insert_embed, qc_array_insert/delete and
// qc_map_set/delete; each edit's qc_doc_last_update is applied to a yjs mirror
// and the edited root must read the same on both sides right after the edit;
// at the end every replica (yjs and C) must agree.
//
// Usage: node diff.mjs [--qdoc PATH] [--cases N] [--long] [--seed S]
//                      [--replay FILE] [--verbose]
//   QUIRE_DIFF_CASES=N   number of cases (default 3000; --long: 30000)
//   QUIRE_DIFF_SEED=S    base seed (default 1); case k uses seed S+k
//   QUIRE_DIFF_DEBUG=1   print each C local edit whose update differs from yjs's
// A failure is shrunk (ops removed while it still fails), printed, and
// written to tests/out/diff-fail-<seed>.json; rerun it with --replay FILE.
import * as Y from 'yjs'
import { spawn } from 'node:child_process'
import { isDeepStrictEqual, parseArgs } from 'node:util'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(HERE, '../..')

// ---------------------------------------------------------------------------
// qdoc client: pipelined line protocol

class QDoc {
  constructor (bin) {
    this.bin = bin
    this.start()
  }

  start () {
    this.proc = spawn(this.bin, [], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.waiting = []
    this.buf = ''
    this.dead = null
    this.stderr = ''
    this.proc.stdout.setEncoding('latin1')
    this.proc.stdout.on('data', (d) => {
      this.buf += d
      let i
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i)
        this.buf = this.buf.slice(i + 1)
        const w = this.waiting.shift()
        if (w) { clearTimeout(w.timer); w.resolve(line) }
      }
    })
    this.proc.stderr.setEncoding('utf8')
    this.proc.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000) })
    this.proc.stdin.on('error', () => {})
    this.proc.on('exit', (code, sig) => {
      this.dead = `qdoc exited (code ${code}, signal ${sig})` + (this.stderr ? `; stderr: ${this.stderr.trim()}` : '')
      for (const w of this.waiting.splice(0)) { clearTimeout(w.timer); w.reject(new Error(this.dead)) }
    })
  }

  restart () {
    try { this.proc.kill('SIGKILL') } catch {}
    this.start()
  }

  send (line) {
    if (this.dead) return Promise.reject(new Error(this.dead))
    return new Promise((resolve, reject) => {
      const w = { resolve, reject }
      w.timer = setTimeout(() => {
        reject(new Error(`qdoc did not answer within 20 s: ${line.slice(0, 200)}`))
        this.restart()
      }, 20000)
      this.waiting.push(w)
      this.proc.stdin.write(line + '\n')
    })
  }

  // resolves to the payload after "ok", throws QErr on "err"
  async ok (line) {
    const r = await this.send(line)
    if (r === 'ok') return ''
    if (r.startsWith('ok ')) return r.slice(3)
    throw new QErr(line, r)
  }

  close () { try { this.proc.stdin.end('quit\n') } catch {} }
}

class QErr extends Error {
  constructor (cmd, answer) {
    super(`C: ${cmd.split(' ')[0]} -> ${answer}`)
    this.cmd = cmd
    this.answer = answer
  }
}

const hex = (u8) => u8.length ? Buffer.from(u8).toString('hex') : '-'
const unhex = (s) => s === '-' ? new Uint8Array(0) : new Uint8Array(Buffer.from(s, 'hex'))
const shex = (s) => s === '' ? '-' : Buffer.from(s, 'utf8').toString('hex')
const unhexStr = (s) => s === '-' ? '' : Buffer.from(s, 'hex').toString('utf8')

// ---------------------------------------------------------------------------
// deterministic randomness

function mulberry32 (a) {
  return function () {
    a |= 0; a = a + 0x6D2B79F5 | 0
    let t = Math.imul(a ^ a >>> 15, 1 | a)
    t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t
    return ((t ^ t >>> 14) >>> 0) / 4294967296
  }
}
class Rng {
  constructor (seed) { this.r = mulberry32(seed >>> 0) }
  f () { return this.r() }
  int (n) { return Math.floor(this.r() * n) } // [0, n)
  range (a, b) { return a + this.int(b - a + 1) } // [a, b]
  pick (arr) { return arr[this.int(arr.length)] }
  bool (p = 0.5) { return this.r() < p }
  shuffle (arr) {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1); [arr[i], arr[j]] = [arr[j], arr[i]]
    }
    return arr
  }
}

// ---------------------------------------------------------------------------
// value pools

const STRINGS = ['a', 'b', 'xy', 'hello', ' ', '\n', 'é', 'ü', '中文', '😀', 'x😀y', '👍🏽', '𝄞a', 'q"uote\\', 'tab\tend', 'ok']
const KEYS = ['k1', 'k2', 'k3', 'ключ', '😀', 'k1']
const ATTRS = [{ bold: true }, { bold: null }, { italic: true }, { italic: null }, { color: '#f00' }, { color: null },
  { link: { href: 'https://x' } }, { bold: true, italic: true }]
const EMBEDS = [{ image: 'x.png' }, { formula: 'e=mc^2' }, { n: 1, list: [1, 2] }]
const XML_NAMES = ['p', 'div', 'span', 'h1']
const XML_ATTRS = ['href', 'class', 'data-x']

function jsonValue (rng, depth = 0) {
  switch (rng.int(depth > 1 ? 10 : 12)) {
    case 0: return rng.int(100)
    case 1: return -1 - rng.int(1000) // never -0: JSON cannot carry it
    case 2: return rng.pick([2147483647, 2147483648, -2147483649, 4294967296, 2 ** 53 - 1])
    case 3: return rng.pick([0.5, 0.1, -1.25, 1e21, 3.14159, 1e-7])
    case 4: return rng.bool()
    case 5: return null
    case 6: case 7: return rng.pick(STRINGS)
    case 8: return rng.pick(STRINGS) + rng.pick(STRINGS)
    case 9: return ''
    case 10: { const o = {}; const n = rng.int(3); for (let i = 0; i < n; i++) o[rng.pick(KEYS)] = jsonValue(rng, depth + 1); return o }
    default: { const a = []; const n = rng.int(3); for (let i = 0; i < n; i++) a.push(jsonValue(rng, depth + 1)); return a }
  }
}

// A value spec: plain JSON, or {$t:'map'|'array'|'text', ...} for a nested type.
function valueSpec (rng, allowTypes, depth = 0) {
  if (allowTypes && depth < 2 && rng.bool(0.3)) {
    switch (rng.int(3)) {
      case 0: { const e = []; const n = rng.int(3); for (let i = 0; i < n; i++) e.push([rng.pick(KEYS), valueSpec(rng, true, depth + 1)]); return { $t: 'map', e } }
      case 1: { const i = []; const n = rng.int(3); for (let k = 0; k < n; k++) i.push(valueSpec(rng, true, depth + 1)); return { $t: 'array', i } }
      default: return { $t: 'text', s: rng.pick(STRINGS) }
    }
  }
  return jsonValue(rng)
}

function xmlSpec (rng, depth = 0) {
  if (depth >= 2 || rng.bool(0.4)) return { $t: 'xt', s: rng.pick(STRINGS) }
  const attrs = {}
  if (rng.bool()) attrs[rng.pick(XML_ATTRS)] = rng.pick(STRINGS)
  const children = []
  const n = rng.int(3)
  for (let i = 0; i < n; i++) children.push(xmlSpec(rng, depth + 1))
  return { $t: 'el', name: rng.pick(XML_NAMES), attrs, children }
}

function makeValue (spec) {
  if (spec !== null && typeof spec === 'object' && !Array.isArray(spec) && typeof spec.$t === 'string') {
    switch (spec.$t) {
      case 'map': { const m = new Y.Map(); for (const [k, v] of spec.e) m.set(k, makeValue(v)); return m }
      case 'array': { const a = new Y.Array(); a.insert(0, spec.i.map(makeValue)); return a }
      case 'text': return new Y.Text(spec.s)
      case 'xt': { const t = new Y.XmlText(); t.insert(0, spec.s); return t }
      case 'el': {
        const e = new Y.XmlElement(spec.name)
        for (const [k, v] of Object.entries(spec.attrs)) e.setAttribute(k, v)
        e.insert(0, spec.children.map(makeValue))
        return e
      }
    }
  }
  return structuredClone(spec)
}

// ---------------------------------------------------------------------------
// doc helpers

const ROOTS = ['t', 'a', 'm', 'x']
function rootOf (doc, name) {
  switch (name) {
    case 't': return doc.getText('t')
    case 'a': return doc.getArray('a')
    case 'm': return doc.getMap('m')
    case 'x': return doc.getXmlFragment('x')
  }
}

// qc_doc_declare_root kinds of the roots rootOf instantiates
const ROOT_KIND = { t: 2, a: 0, m: 1, x: 4 }

function kindOf (v) {
  if (v instanceof Y.XmlText) return 'xmltext'
  if (v instanceof Y.Text) return 'text'
  if (v instanceof Y.XmlElement) return 'xmlel'
  if (v instanceof Y.XmlFragment) return 'xmlfrag'
  if (v instanceof Y.Map) return 'map'
  if (v instanceof Y.Array) return 'array'
  return null
}

// every type reachable from the roots, with a replayable path
function typesOf (doc) {
  const out = []
  const walk = (node, path, depth) => {
    const kind = kindOf(node)
    out.push({ path, kind, node })
    if (depth > 4) return
    if (kind === 'array' || kind === 'xmlfrag' || kind === 'xmlel') {
      node.toArray().forEach((v, i) => { if (kindOf(v)) walk(v, [...path, i], depth + 1) })
    } else if (kind === 'map') {
      for (const k of [...node.keys()].sort()) { const v = node.get(k); if (kindOf(v)) walk(v, [...path, k], depth + 1) }
    }
  }
  for (const r of ROOTS) walk(rootOf(doc, r), [r], 0)
  return out
}

function resolvePath (doc, path) {
  let node = rootOf(doc, path[0])
  for (const step of path.slice(1)) {
    const kind = kindOf(node)
    if (kind === 'map') node = node.get(step)
    else if (kind === 'array' || kind === 'xmlfrag' || kind === 'xmlel') node = typeof step === 'number' && step < node.length ? node.get(step) : undefined
    else return undefined
    if (!kindOf(node)) return undefined
  }
  return node
}

// the item list of a type, for QUIRE_DIFF_DEBUG output
function debugItems (t) {
  const out = []
  for (let it = t._start; it; it = it.right) {
    const c = it.content
    out.push(`${it.id.client}:${it.id.clock}${it.length > 1 ? '+' + it.length : ''}${it.deleted ? '(del)' : ''}` +
      `${c.constructor.name.replace('Content', '')}${c.key !== undefined ? `[${c.key}=${JSON.stringify(c.value)}]` : ''}${c.str !== undefined ? JSON.stringify(c.str) : ''}`)
  }
  return out.join(' ')
}

// a text's units as a string, embeds as one placeholder unit
function textUnits (t) {
  return t.toDelta().map((d) => typeof d.insert === 'string' ? d.insert : '\u0001').join('')
}
const isHigh = (c) => c >= 0xd800 && c < 0xdc00
function clampInsert (s, i) {
  i = Math.max(0, Math.min(i, s.length))
  if (i > 0 && i < s.length && isHigh(s.charCodeAt(i - 1))) i--
  return i
}
function clampRange (s, i, n) {
  i = clampInsert(s, i)
  let e = Math.max(i, Math.min(s.length, i + n))
  if (e > i && e < s.length && isHigh(s.charCodeAt(e - 1))) e++
  return [i, e - i]
}

function view (doc) {
  return {
    t: doc.getText('t').toDelta(),
    a: doc.getArray('a').toJSON(),
    m: doc.getMap('m').toJSON(),
    x: doc.getXmlFragment('x').toString()
  }
}
const rootJSON = (doc, r) => rootOf(doc, r).toJSON()
const svMap = (sv) => Object.fromEntries([...Y.decodeStateVector(sv).entries()].map(([k, v]) => [String(k), v]))

// ---------------------------------------------------------------------------
// case classes and op generation

const CLASSES = [
  ['simple', 15], // 1 replica, text insert/delete only: byte-identical state asserted
  ['text', 22], // 2–4 replicas, Y.Text incl. format/embed/emoji/concurrent deletes
  ['mixed', 27], // all types, nested
  ['xml', 10], // XmlFragment/XmlElement/XmlText with attributes
  ['cpeer', 18], // the C doc is a replica making local edits
  ['crowd', 8] // 2–4 replicas that often take a new clientID (a new session): documents of about 60–150 clients
]
function pickClass (rng) {
  let x = rng.int(100)
  for (const [c, w] of CLASSES) { if (x < w) return c; x -= w }
  return 'mixed'
}

function unusedClient (clients) {
  let c = 4242
  while (clients.includes(c)) c++
  return c
}

function pickClients (rng, n) {
  const pool = () => rng.pick([
    rng.range(1, 9), rng.range(10, 1000), 0x80000000 + rng.int(1000), 0xffffffff - rng.int(1000), rng.range(1, 0xffffffff)
  ])
  const s = new Set()
  while (s.size < n) s.add(pool())
  return [...s]
}

function caseSpec (seed) {
  const rng = new Rng(seed)
  const cls = pickClass(rng)
  const nrep = cls === 'simple' ? 1 : rng.range(2, 4)
  const clients = pickClients(rng, nrep + 1) // last one: the C doc in feed checks
  const nops = cls === 'simple' ? rng.range(1, 30) : cls === 'crowd' ? rng.range(400, 600) : rng.range(5, 60)
  return { seed, cls, gc: rng.bool(0.8), clients, nops }
}

// generate one op for replica r given the current docs
function genOp (rng, cls, r, doc, nrep, isC) {
  const roll = rng.int(100)
  if (nrep > 1 && roll < 12) {
    const b = (r + 1 + rng.int(nrep - 1)) % nrep
    return rng.bool(0.7) ? { k: 'sync', a: r, b } : { k: 'send', a: r, b }
  }
  if (nrep > 1 && roll < 15 && cls !== 'simple') {
    const t = rng.pick(cls === 'xml' ? ['x'] : ['t', 'a'])
    return { k: 'conc', root: t, i: rng.int(12), n: rng.range(1, 4), s: rng.pick(STRINGS), del: rng.bool(0.6) }
  }
  let target = 't'
  if (cls === 'mixed') target = rng.pick(['t', 'a', 'a', 'm', 'm', 'x', 'nested', 'nested'])
  else if (cls === 'xml') target = rng.pick(['x', 'x', 'nested', 'nested'])
  else if (cls === 'cpeer' || cls === 'crowd') target = rng.pick(['t', 't', 'a', 'm'])
  if (target === 'nested') {
    const types = typesOf(doc).filter((x) => x.path.length > 1 || (cls === 'xml' && x.path[0] === 'x'))
    if (!types.length) target = cls === 'xml' ? 'x' : 'a'
    else {
      const { path, kind, node } = rng.pick(types)
      return genTypeOp(rng, r, path, kind, node, true)
    }
  }
  const node = rootOf(doc, target)
  return genTypeOp(rng, r, [target], kindOf(node), node, !isC && cls !== 'simple', cls === 'simple', isC)
}

function genTypeOp (rng, r, path, kind, node, allowTypes, simple = false, isC = false) {
  const len = node.length
  switch (kind) {
    case 'text': case 'xmltext': {
      const roll = rng.int(100)
      if (roll < (simple ? 60 : 45) || len === 0) {
        const op = { k: 'tins', r, path, i: rng.int(len + 1), s: rng.pick(STRINGS) }
        if (!simple && rng.bool(0.2)) op.attrs = rng.pick(ATTRS.filter((a) => Object.values(a).every((v) => v !== null)))
        return op
      }
      if (roll < (simple ? 100 : 75)) return { k: 'tdel', r, path, i: rng.int(len), n: rng.range(1, 5) }
      if (roll < 90) return { k: 'tfmt', r, path, i: rng.int(len), n: rng.range(1, 6), attrs: rng.pick(ATTRS) }
      return { k: 'tembed', r, path, i: rng.int(len + 1), e: rng.pick(EMBEDS) }
    }
    case 'array': {
      if (len === 0 || rng.bool(0.6)) {
        const vals = []; const n = rng.range(1, 3)
        for (let i = 0; i < n; i++) vals.push(valueSpec(rng, allowTypes && !isC))
        return { k: 'ains', r, path, i: rng.int(len + 1), vals }
      }
      return { k: 'adel', r, path, i: rng.int(len), n: rng.range(1, 3) }
    }
    case 'map': {
      if (rng.bool(0.75)) return { k: 'mset', r, path, key: rng.pick(KEYS), val: valueSpec(rng, allowTypes && !isC) }
      return { k: 'mdel', r, path, key: rng.pick(KEYS) }
    }
    case 'xmlfrag': case 'xmlel': {
      const roll = rng.int(100)
      if (kind === 'xmlel' && roll < 30) {
        return rng.bool(0.75)
          ? { k: 'xattr', r, path, key: rng.pick(XML_ATTRS), val: rng.pick(STRINGS) }
          : { k: 'xrmattr', r, path, key: rng.pick(XML_ATTRS) }
      }
      if (len === 0 || roll < 80) return { k: 'xins', r, path, i: rng.int(len + 1), nodes: [xmlSpec(rng)] }
      return { k: 'xdel', r, path, i: rng.int(len), n: rng.range(1, 2) }
    }
  }
  return { k: 'noop' }
}

// ---------------------------------------------------------------------------
// executing ops on yjs replicas (and on the C replica in cpeer cases)

// apply a (possibly shrunk) op to a yjs doc; indices are clamped so replays of
// subsets stay valid. Returns false when the op does not apply.
function execY (doc, op) {
  const node = resolvePath(doc, op.path)
  if (!node) return false
  const kind = kindOf(node)
  switch (op.k) {
    case 'tins': {
      if (kind !== 'text' && kind !== 'xmltext') return false
      const i = clampInsert(textUnits(node), op.i)
      node.insert(i, op.s, op.attrs ? structuredClone(op.attrs) : undefined)
      return true
    }
    case 'tdel': case 'tfmt': {
      if (kind !== 'text' && kind !== 'xmltext') return false
      const [i, n] = clampRange(textUnits(node), op.i, op.n)
      if (n === 0) return false
      if (op.k === 'tdel') node.delete(i, n); else node.format(i, n, structuredClone(op.attrs))
      return true
    }
    case 'tembed': {
      if (kind !== 'text' && kind !== 'xmltext') return false
      node.insertEmbed(clampInsert(textUnits(node), op.i), structuredClone(op.e))
      return true
    }
    case 'ains': {
      if (kind !== 'array') return false
      node.insert(Math.min(op.i, node.length), op.vals.map(makeValue))
      return true
    }
    case 'adel': case 'xdel': {
      if (op.k === 'adel' ? kind !== 'array' : (kind !== 'xmlfrag' && kind !== 'xmlel')) return false
      const i = Math.min(op.i, node.length); const n = Math.min(op.n, node.length - i)
      if (n <= 0) return false
      node.delete(i, n)
      return true
    }
    case 'mset': if (kind !== 'map') return false; node.set(op.key, makeValue(op.val)); return true
    case 'mdel': if (kind !== 'map' || !node.has(op.key)) return false; node.delete(op.key); return true
    case 'xins': {
      if (kind !== 'xmlfrag' && kind !== 'xmlel') return false
      node.insert(Math.min(op.i, node.length), op.nodes.map(makeValue))
      return true
    }
    case 'xattr': if (kind !== 'xmlel') return false; node.setAttribute(op.key, op.val); return true
    case 'xrmattr': if (kind !== 'xmlel') return false; node.removeAttribute(op.key); return true
  }
  return false
}

// the same op through the C API (root-level types only); `mirror` is a yjs doc
// kept identical to the C doc, used to choose valid positions.
async function execC (q, id, mirror, op) {
  if (op.path.length !== 1) return null
  const root = op.path[0]
  const node = rootOf(mirror, root)
  const rh = shex(root)
  switch (op.k) {
    case 'tins': {
      const i = clampInsert(textUnits(node), op.i)
      return q.ok(`tins ${id} ${rh} ${i} ${shex(op.s)}` + (op.attrs ? ` ${shex(JSON.stringify(op.attrs))}` : ''))
    }
    case 'tdel': case 'tfmt': {
      const [i, n] = clampRange(textUnits(node), op.i, op.n)
      if (n === 0) return null
      return op.k === 'tdel' ? q.ok(`tdel ${id} ${rh} ${i} ${n}`) : q.ok(`tfmt ${id} ${rh} ${i} ${n} ${shex(JSON.stringify(op.attrs))}`)
    }
    case 'tembed': return q.ok(`tembed ${id} ${rh} ${clampInsert(textUnits(node), op.i)} ${shex(JSON.stringify(op.e))}`)
    case 'ains': return q.ok(`ains ${id} ${rh} ${Math.min(op.i, node.length)} ${shex(JSON.stringify(op.vals))}`)
    case 'adel': {
      const i = Math.min(op.i, node.length); const n = Math.min(op.n, node.length - i)
      if (n <= 0) return null
      return q.ok(`adel ${id} ${rh} ${i} ${n}`)
    }
    case 'mset': return q.ok(`mset ${id} ${rh} ${shex(op.key)} ${shex(JSON.stringify(op.val))}`)
    case 'mdel': if (!node.has(op.key)) return null; return q.ok(`mdel ${id} ${rh} ${shex(op.key)}`)
  }
  return null
}

// ---------------------------------------------------------------------------
// comparison of a C doc with a yjs doc

const isEmptyVal = (v) => v === null || v === undefined || v === '' ||
  (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)

class CaseFail extends Error {
  constructor (check, msg, expected, got) {
    super(`${check}: ${msg}`)
    this.check = check; this.expected = expected; this.got = got
  }
}

function compareRootJSON (root, want, got, stats) {
  if (isDeepStrictEqual(want, got)) return
  if (got === null && isEmptyVal(want)) { stats.absent++; return } // a root C never saw reads null
  if (isEmptyVal(want) && isEmptyVal(got)) { stats.exc_empty++; return }
  if (root === 'x' && typeof want === 'string' && Array.isArray(got) && got.every((s) => typeof s === 'string') && got.join('') === want) {
    stats.exc_xml++; return
  }
  throw new CaseFail('json', `root "${root}" differs`, want, got)
}


// A fresh yjs doc fed Y''s state the way qc_doc_encode_state writes it when
// pending data is held: the integrated state, the pending delete set, and the
// pending structs minus what the doc already has (diffed against its own
// state vector), merged.
function quireReading (yd) {
  const { pendingStructs, pendingDs } = yd.store
  yd.store.pendingStructs = null
  yd.store.pendingDs = null
  let integrated, sv
  try {
    integrated = Y.encodeStateAsUpdate(yd)
    sv = Y.encodeStateVector(yd)
  } finally {
    yd.store.pendingStructs = pendingStructs
    yd.store.pendingDs = pendingDs
  }
  const parts = [integrated]
  if (pendingDs) parts.push(Y.convertUpdateFormatV2ToV1(pendingDs))
  if (pendingStructs) parts.push(Y.diffUpdate(Y.convertUpdateFormatV2ToV1(pendingStructs.update), sv))
  const z = new Y.Doc({ gc: yd.gc })
  Y.applyUpdate(z, Y.mergeUpdates(parts))
  return z
}

async function compareC (q, id, ydoc, label, stats, opts = {}) {
  // pipeline every query
  const pJson = q.ok(`json ${id}`)
  const pRoots = ROOTS.map((r) => q.ok(`rootjson ${id} ${shex(r)}`))
  const pSv = q.ok(`sv ${id}`)
  const pState = q.ok(`state ${id}`)
  const pPending = opts.final ? q.ok(`pending ${id}`) : null
  const [jsonHex, rootsHex, svHex, stateHex, pending] = await Promise.all([pJson, Promise.all(pRoots), pSv, pState, pPending])

  const cstate = unhex(stateHex)
  // yjs retries its pending structs only when the specific missing clock
  // arrives, so a yjs doc can hold structs that are already integrable; a
  // fresh doc fed its encodeStateAsUpdate integrates them. When Y' has pending
  // data and C matches only that resolved reading, it counts as 'yjs pending
  // lag' (documented exception), not as a failure.
  const checkAgainst = (yd) => {
    let whole
    try { whole = JSON.parse(unhexStr(jsonHex)) } catch (e) {
      throw new CaseFail('json', `${label}: qc_doc_json is not JSON (${e.message})`, null, unhexStr(jsonHex))
    }
    for (let k = 0; k < ROOTS.length; k++) {
      const r = ROOTS[k]
      let got
      const txt = unhexStr(rootsHex[k])
      try { got = txt === '' ? null : JSON.parse(txt) } catch (e) {
        throw new CaseFail('json', `${label}: qc_doc_root_json("${r}") is not JSON (${e.message})`, null, txt)
      }
      const want = rootJSON(yd, r)
      try { compareRootJSON(r, want, got, stats) } catch (e) { e.message = `${label}: ${e.message}`; throw e }
      if (whole && Object.prototype.hasOwnProperty.call(whole, r) && !isDeepStrictEqual(whole[r], got)) {
        throw new CaseFail('json', `${label}: qc_doc_json()["${r}"] differs from qc_doc_root_json("${r}")`, got, whole[r])
      }
    }
    const wantSv = svMap(Y.encodeStateVector(yd))
    const gotSv = svMap(unhex(svHex))
    if (!isDeepStrictEqual(wantSv, gotSv)) throw new CaseFail('sv', `${label}: state vector differs`, wantSv, gotSv)

  }
  const hasPending = !!(ydoc.store.pendingStructs || ydoc.store.pendingDs)
  let resolved = null
  if (hasPending) {
    resolved = new Y.Doc({ gc: ydoc.gc })
    Y.applyUpdate(resolved, Y.encodeStateAsUpdate(ydoc))
  }
  try { checkAgainst(ydoc) } catch (e) {
    if (!hasPending || !(e instanceof CaseFail)) throw e
    try { checkAgainst(resolved) } catch { throw e }
    stats.exc_pending++
  }
  // C's state read by a fresh yjs doc must equal Y' (or, when Y' holds pending
  // data, a fresh yjs doc fed Y''s own state: the same reading of the same data).
  // Both are tried: the resolved reading is not always a superset of Y' - when
  // a range Y' integrated (e.g. a GC run) is also held as pending Items,
  // Y.encodeStateAsUpdate keeps the pending Items and drops the integrated
  // range, so a fresh doc fed it integrates less than Y' itself did.
  // A third reading models quire's documented choice (docs/crdt-model.md,
  // "encodeState with pending data"): pending structs the doc already holds
  // are left out (Yjs keeps them, and a pending Item can then shadow an
  // integrated GC of the same id and block what follows it).
  const candidates = [ydoc]
  if (resolved) {
    candidates.unshift(resolved)
    candidates.push(quireReading(ydoc))
  }
  {
    const z = new Y.Doc({ gc: ydoc.gc })
    try { Y.applyUpdate(z, cstate) } catch (e) {
      throw new CaseFail('state', `${label}: yjs cannot apply C's encodeState (${e.message})`, null, stateHex)
    }
    const vz = view(z)
    const svz = svMap(Y.encodeStateVector(z))
    const checkState = (yd) => {
      const vy = view(yd)
      if (!isDeepStrictEqual(vz, vy)) throw new CaseFail('state', `${label}: C's state decoded in yjs differs`, vy, vz)
      const wantSv = svMap(Y.encodeStateVector(yd))
      if (!isDeepStrictEqual(svz, wantSv)) throw new CaseFail('state', `${label}: C's state decoded in yjs has another state vector`, wantSv, svz)
    }
    let first = null
    for (const yd of candidates) {
      try { checkState(yd); first = null; break } catch (e) {
        if (!(e instanceof CaseFail)) throw e
        first ??= e
      }
    }
    if (first) throw first
  }

  const ystate = Y.encodeStateAsUpdate(ydoc)
  const same = Buffer.compare(Buffer.from(ystate), Buffer.from(cstate)) === 0
  if (!opts.noBytes) { stats.byte_checks++; if (same) stats.byte_same++ }
  if (!same && opts.assertBytes) throw new CaseFail('bytes', `${label}: encodeState differs from Y.encodeStateAsUpdate`, hex(ystate), stateHex)

  if (opts.final) {
    if (Number(pending) !== 0 && !hasPending) throw new CaseFail('pending', `${label}: C still has ${pending} pending bytes after every update`, 0, Number(pending))
    if (ydoc.store.pendingStructs || ydoc.store.pendingDs) stats.y_pending++
  }
}

// ---------------------------------------------------------------------------
// one case

let nextDocId = 1

async function runCase (q, spec, stats, givenOps = null) {
  const { seed, cls, gc, clients } = spec
  const rng = new Rng(seed ^ 0x5bd1e995)
  const nrep = cls === 'simple' ? 1 : clients.length - 1
  const cIsReplica = cls === 'cpeer'
  const docs = []
  const updates = [] // every update event, in emission order
  // cpeer: replica 0 is the C doc and docs[0] its yjs mirror, whose update
  // events are not recorded (the C doc's own updates are)
  for (let i = 0; i < nrep; i++) {
    const d = new Y.Doc({ gc })
    d.clientID = clients[i]
    if (cIsReplica && i === 0) d.clientID = unusedClient(clients) // it must not see "its own" id arrive
    else d.on('update', (u) => updates.push(u))
    docs.push(d)
  }
  let cid = null
  if (cIsReplica) {
    cid = nextDocId++
    await q.ok(`new ${cid} ${clients[0]} ${gc ? 1 : 0}`)
  }
  const ops = givenOps ? givenOps.slice() : (spec.record ?? [])
  const done = []

  // The C doc stands for the yjs replica its mirror docs[0] models. Roots are
  // untyped on the wire; calling getText/getArray/getMap/getXmlFragment is
  // what gives a yjs root its class (and, for a Text, turns on formatting
  // cleanup after remote transactions), so every root the JS side has
  // instantiated on the mirror is declared on the C doc before the C doc
  // next receives an update or edits.
  const declared = new Set()
  const declareMirrored = async () => {
    for (const r of ROOTS) {
      if (declared.has(r)) continue
      const t = docs[0].share.get(r)
      if (!t || t.constructor === Y.AbstractType) continue
      declared.add(r)
      await q.ok(`declare ${cid} ${shex(r)} ${ROOT_KIND[r]}`)
    }
  }

  const syncOne = async (a, b) => { // a -> b
    if (cIsReplica && (a === 0 || b === 0)) await declareMirrored()
    if (cIsReplica && a === 0) {
      const st = unhex(await q.ok(`state ${cid} ${hex(Y.encodeStateVector(docs[b]))}`))
      Y.applyUpdate(docs[b], st)
    } else if (cIsReplica && b === 0) {
      const csv = unhex(await q.ok(`sv ${cid}`))
      const u = Y.encodeStateAsUpdate(docs[a], csv)
      await q.ok(`apply ${cid} ${hex(u)}`)
      Y.applyUpdate(docs[0], u)
    } else {
      Y.applyUpdate(docs[b], Y.encodeStateAsUpdate(docs[a], Y.encodeStateVector(docs[b])))
    }
  }

  const execOn = async (r, op) => {
    if (cIsReplica && r === 0) {
      await declareMirrored()
      // the same edit made by yjs on a copy of the mirror that has the C doc's client id
      const twin = new Y.Doc({ gc })
      Y.applyUpdate(twin, Y.encodeStateAsUpdate(docs[0]))
      twin.clientID = clients[0]
      let yu = null
      twin.on('update', (u) => { yu = u })
      if (process.env.QUIRE_DIFF_DEBUG) {
        const cs = Y.decodeUpdate(unhex(await q.ok(`state ${cid} 00`))).ds
        const ys = Y.decodeUpdate(Y.encodeStateAsUpdate(docs[0])).ds
        const fmt = (ds) => JSON.stringify([...ds.clients].map(([c, r]) => [c, r.map((x) => [x.clock, x.len])]))
        console.log(`before C's ${op.k}: C ds ${fmt(cs)}\n  mirror ds ${fmt(ys)}\n  mirror ${debugItems(docs[0].getText('t'))}`)
      }
      const u = await execC(q, cid, docs[0], op)
      if (u === null) return false
      execY(twin, op)
      const ub = unhex(u)
      if (ub.length === 0) {
        if (yu) throw new CaseFail('local', `C's ${op.k} produced no update where yjs does`, hex(yu), '-')
        stats.c_local++
        return true
      }
      if (yu && Buffer.compare(Buffer.from(yu), Buffer.from(ub)) === 0) stats.c_local_same++
      else if (process.env.QUIRE_DIFF_DEBUG) console.log(`C's ${JSON.stringify(op)} update differs from yjs's:\n  yjs ${yu ? hex(yu) : '-'}\n  C   ${hex(ub)}\n  on ${debugItems(twin.getText('t'))}`)
      updates.push(ub)
      // the C doc made this edit locally, so the mirror must not run yjs's
      // formatting cleanup for it: yjs cleans up after remote transactions
      // only, and readUpdate marks its transaction remote, so the flag is set
      // back before the transaction ends (else the mirror would delete format
      // items the C doc keeps, and diverge from everyone)
      try { docs[0].transact((tr) => { Y.applyUpdate(docs[0], ub); tr.local = true }) } catch (e) {
        throw new CaseFail('local', `yjs cannot apply the update of C's ${op.k} (${e.message})`, null, u)
      }
      if (process.env.QUIRE_DIFF_DEBUG) console.log(`after C's ${op.k}: update ${hex(ub)}\n  mirror ${debugItems(docs[0].getText('t'))}`)
      // the edited root must read the same right away
      const r0 = op.path[0]
      const got = unhexStr(await q.ok(`rootjson ${cid} ${shex(r0)}`))
      let gotv
      try { gotv = got === '' ? null : JSON.parse(got) } catch { gotv = got }
      try { compareRootJSON(r0, rootJSON(docs[0], r0), gotv, stats) } catch (e) {
        e.check = 'local'; e.message = `after C's ${op.k}: ${e.message}`; throw e
      }
      stats.c_local++
      return true
    }
    return execY(docs[r], op)
  }

  const execute = async (op) => {
    switch (op.k) {
      case 'sync': if (op.a >= nrep || op.b >= nrep) return false; await syncOne(op.a, op.b); await syncOne(op.b, op.a); return true
      case 'send': if (op.a >= nrep || op.b >= nrep) return false; await syncOne(op.a, op.b); return true
      case 'syncall': for (let a = 0; a < nrep; a++) for (let b = 0; b < nrep; b++) if (a !== b) await syncOne(a, b); return true
      case 'conc': { // several replicas edit the same place concurrently
        let any = false
        for (const r of op.rs) {
          if (r >= nrep) continue
          const node = rootOf(docs[r], op.root)
          const sub = op.root === 't'
            ? (op.del ? { k: 'tdel', i: op.i, n: op.n } : { k: 'tins', i: op.i, s: op.s })
            : op.root === 'a'
              ? (op.del ? { k: 'adel', i: op.i, n: op.n } : { k: 'ains', i: op.i, vals: [op.s] })
              : (op.del ? { k: 'xdel', i: op.i, n: op.n } : { k: 'xins', i: op.i, nodes: [{ $t: 'xt', s: op.s }] })
          void node
          any = (await execOn(r, { ...sub, r, path: [op.root] })) || any
        }
        return any
      }
      case 'noop': return false
      case 'reseat': // a yjs replica continues under a new clientID, as a new session would
        if (op.r >= nrep || (cIsReplica && op.r === 0)) return false
        docs[op.r].clientID = op.id
        return true
      default: if (op.r >= nrep) return false; return execOn(op.r, op)
    }
  }

  if (givenOps) {
    for (const op of ops) if (await execute(op)) done.push(op)
  } else {
    const used = new Set(clients)
    for (let n = 0; n < spec.nops; n++) {
      let op
      if (nrep > 1 && rng.bool(0.04)) op = { k: 'syncall' }
      else if (cls === 'crowd' && rng.bool(0.3)) {
        let id
        do id = rng.range(1, 0xffffffff); while (used.has(id))
        used.add(id)
        op = { k: 'reseat', r: rng.int(nrep), id }
      } else {
        const r = rng.int(nrep)
        op = genOp(rng, cls, r, docs[r], nrep, cIsReplica && r === 0)
        if (op.k === 'conc') {
          // start from a common state so the edits really hit the same range
          const pre = { k: 'syncall' }
          ops.push(pre); if (await execute(pre)) done.push(pre)
          op.rs = rng.shuffle([...Array(nrep).keys()]).slice(0, rng.range(2, nrep))
        }
      }
      ops.push(op)
      if (await execute(op)) done.push(op)
    }
  }
  // converge: editors clean up formatting after remote transactions (new
  // deletes), so sync until nothing changes
  for (let round = 0; round < 4; round++) {
    const before = docs.map((d) => hex(Y.encodeStateAsUpdate(d)))
    await execute({ k: 'syncall' })
    if (docs.every((d, i) => hex(Y.encodeStateAsUpdate(d)) === before[i]) && round > 0) break
  }
  const ref = docs[cIsReplica ? 1 : 0] ?? docs[0]
  for (let i = 1; i < nrep; i++) {
    if (!isDeepStrictEqual(view(docs[i]), view(docs[0]))) {
      throw new CaseFail('yjs', `yjs replicas 0 and ${i} do not converge (harness or yjs issue)`, view(docs[0]), view(docs[i]))
    }
  }
  if (cIsReplica) {
    await compareC(q, cid, ref, 'C replica after final sync', stats, { final: true, noBytes: true })
    await freeDoc(q, cid)
  }
  stats.updates += updates.length
  stats.max_clients = Math.max(stats.max_clients, Y.decodeStateVector(Y.encodeStateVector(ref)).size)

  // delivery orders
  const frng = new Rng(seed ^ 0x2545f491)
  const modes = ['inorder', 'shuffle', 'dups', 'reverse', 'cmerge', 'states']
  const chosen = new Set(['dups'])
  while (chosen.size < 3) chosen.add(frng.pick(modes))
  if (cls === 'simple') chosen.add('inorder')
  for (const mode of chosen) {
    let seq
    switch (mode) {
      case 'inorder': seq = updates.slice(); break
      case 'shuffle': seq = frng.shuffle(updates.slice()); break
      case 'reverse': seq = updates.slice().reverse(); break
      case 'dups': {
        seq = frng.shuffle(updates.slice())
        const extra = Math.ceil(seq.length * 0.3)
        for (let i = 0; i < extra; i++) seq.splice(frng.int(seq.length + 1), 0, frng.pick(updates))
        break
      }
      case 'cmerge': {
        const sh = frng.shuffle(updates.slice())
        seq = []
        for (let i = 0; i < sh.length;) {
          const n = frng.range(1, 16); const chunk = sh.slice(i, i + n); i += n
          seq.push(unhex(await q.ok(`merge ${chunk.map(hex).join(' ')}`)))
        }
        break
      }
      case 'states': seq = frng.shuffle(docs.map((d) => Y.encodeStateAsUpdate(d))); break
    }
    if (seq.length === 0) continue
    await feedAndCheck(q, seq, spec, mode, frng, stats, cls === 'simple' && mode !== 'cmerge')
    stats.feeds++
  }
  stats.ops += done.length
  return done
}

async function freeDoc (q, id) {
  const r = await q.send(`free ${id}`)
  if (r !== 'ok') throw new CaseFail('leak', `qc_doc_free left memory: ${r}`, 'ok', r)
}

async function feedAndCheck (q, seq, spec, mode, frng, stats, assertBytes) {
  try {
    await feedAndCheck1(q, seq, spec, mode, frng, stats, assertBytes)
  } catch (e) {
    // the exact delivery, so the failure reproduces with qdoc alone
    if (e instanceof CaseFail && !e.delivery) e.delivery = { mode, gc: spec.gc, updates: seq.map(hex) }
    throw e
  }
}

async function feedAndCheck1 (q, seq, spec, mode, frng, stats, assertBytes) {
  const yd = new Y.Doc({ gc: spec.gc })
  yd.clientID = spec.clients[spec.clients.length - 1]
  const id = nextDocId++
  await q.ok(`new ${id} ${yd.clientID} ${spec.gc ? 1 : 0}`)
  const mid = seq.length > 2 ? frng.range(1, seq.length - 1) : -1
  let pend = []
  for (let i = 0; i < seq.length; i++) {
    Y.applyUpdate(yd, seq[i])
    const k = i
    pend.push(q.ok(`apply ${id} ${hex(seq[i])}`).catch((e) => {
      throw new CaseFail('apply', `${mode}: C rejected update #${k} that yjs applied: ${e.answer ?? e.message}`, 'ok', hex(seq[k]))
    }))
    if (i + 1 === mid) {
      await Promise.all(pend); pend = []
      // a separate doc for the midpoint: reading Y' would instantiate its root
      // types, and an instantiated Y.Text with formatting cleans up formats
      // after every remote transaction (new local deletes) - editor
      // behaviour that a C doc, like a y-websocket server's doc, does not have
      const ymid = new Y.Doc({ gc: spec.gc })
      for (let k = 0; k <= i; k++) Y.applyUpdate(ymid, seq[k])
      await compareC(q, id, ymid, `${mode}, after ${mid}/${seq.length} updates`, stats, {})
    }
  }
  await Promise.all(pend)
  await compareC(q, id, yd, `${mode}, after all ${seq.length} updates`, stats, { final: true, assertBytes })
  await freeDoc(q, id)
}

// ---------------------------------------------------------------------------
// shrinking and reporting

async function fails (q, spec, ops) {
  const st = newStats()
  try { await runCase(q, spec, st, ops); return null } catch (e) {
    if (q.dead) q.restart()
    return e
  }
}

async function shrink (q, spec, ops, deadline) {
  let cur = ops
  let err = await fails(q, spec, cur)
  if (!err) return { ops: cur, err: null }
  let chunk = Math.max(1, Math.floor(cur.length / 2))
  while (chunk >= 1 && Date.now() < deadline) {
    let progressed = false
    for (let i = 0; i < cur.length && Date.now() < deadline;) {
      const cand = cur.slice(0, i).concat(cur.slice(i + chunk))
      const e = await fails(q, spec, cand)
      if (e && e.check === err.check) { cur = cand; err = e; progressed = true } else i += chunk
    }
    if (!progressed) chunk = Math.floor(chunk / 2)
  }
  return { ops: cur, err }
}

function newStats () {
  return { cases: 0, ops: 0, updates: 0, feeds: 0, byte_checks: 0, byte_same: 0, absent: 0, exc_empty: 0, exc_xml: 0, exc_pending: 0, c_local: 0, c_local_same: 0, y_pending: 0, max_clients: 0, byClass: {} }
}

function clip (v, n = 1500) {
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return s === undefined ? String(v) : s.length > n ? s.slice(0, n) + `… (${s.length} chars)` : s
}

// ---------------------------------------------------------------------------
// main

async function main () {
  const { values } = parseArgs({
    options: {
      qdoc: { type: 'string' },
      cases: { type: 'string' },
      'default-cases': { type: 'string' },
      long: { type: 'boolean' },
      seed: { type: 'string' },
      replay: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      'max-failures': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help) {
    console.log(`usage: node tests/diff/diff.mjs [--qdoc PATH] [--cases N] [--long] [--seed S]
                                [--max-failures N] [--replay FILE] [--verbose]

Differential test of quire's crdt against yjs (see the comment at the top of
this file for what is compared).
  --qdoc PATH         the qdoc driver (default: build/tests/diff/qdoc or
                      build-bench/tests/diff/qdoc) [QUIRE_QDOC]
  --cases N           number of cases (3000; --long: 30000) [QUIRE_DIFF_CASES]
  --seed S            base seed (1); case k uses seed S+k [QUIRE_DIFF_SEED]
  --max-failures N    stop after N failing cases (5)
  --replay FILE       rerun one shrunk failure written to tests/out/
  --verbose, -v       one line per passing case
  QUIRE_DIFF_DEBUG=1  print each C local edit whose update differs from yjs's`)
    return
  }
  const qbin = values.qdoc ?? process.env.QUIRE_QDOC ??
    [join(REPO, 'build/tests/diff/qdoc'), join(REPO, 'build-bench/tests/diff/qdoc')].find(existsSync)
  if (!qbin || !existsSync(qbin)) {
    console.error('diff.mjs: qdoc binary not found; build it (target qdoc) and pass --qdoc PATH')
    process.exit(2)
  }
  const q = new QDoc(qbin)
  if ((await q.send('echo hi')) !== 'ok hi') throw new Error('qdoc framing check failed')

  if (values.replay) {
    const rep = JSON.parse(readFileSync(values.replay, 'utf8'))
    const st = newStats()
    try {
      await runCase(q, rep.spec, st, rep.ops)
      console.log('replay: passed', st)
    } catch (e) {
      console.log(`replay: FAILED ${e.message}\n  expected: ${clip(e.expected, 20000)}\n  got:      ${clip(e.got, 20000)}`)
      process.exitCode = 1
    }
    q.close(); return
  }

  const base = Number(values.seed ?? process.env.QUIRE_DIFF_SEED ?? 1)
  const ncases = Number(values.cases ?? process.env.QUIRE_DIFF_CASES ?? (values.long ? 30000 : (values['default-cases'] ?? 3000)))
  const maxFailures = Number(values['max-failures'] ?? 5)
  const stats = newStats()
  const failures = []
  const t0 = Date.now()
  let lastReport = t0
  for (let k = 0; k < ncases; k++) {
    const spec = caseSpec(base + k)
    stats.byClass[spec.cls] = (stats.byClass[spec.cls] ?? 0) + 1
    let ops = null
    const record = []
    try {
      ops = await runCase(q, { ...spec, record }, stats)
      stats.cases++
    } catch (e) {
      if (q.dead) q.restart()
      failures.push({ spec, err: e, ops: record })
      console.log(`FAIL seed ${spec.seed} (${spec.cls}, gc ${spec.gc}, clients ${spec.clients.join(',')}): ${e.message}`)
      if (failures.length >= maxFailures) { console.log(`stopping after ${maxFailures} failing cases`); break }
    }
    if (values.verbose && ops) console.log(`seed ${spec.seed} ${spec.cls}: ${ops.length} ops ok`)
    if (Date.now() - lastReport > 15000) {
      lastReport = Date.now()
      console.log(`  … ${k + 1}/${ncases} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s, ${failures.length} failing`)
    }
  }
  const secs = (Date.now() - t0) / 1000

  // shrink and print the first failures
  mkdirSync(join(REPO, 'tests/out'), { recursive: true })
  const shrinkBudget = Date.now() + 90000
  for (const [n, f] of failures.entries()) {
    if (n >= 3) break
    // the ops generated up to the failure, shrunk
    const ops = f.ops
    const { ops: small, err } = await shrink(q, f.spec, ops, Math.min(shrinkBudget, Date.now() + 45000))
    const e = err ?? f.err
    const file = join(REPO, `tests/out/diff-fail-${f.spec.seed}.json`)
    writeFileSync(file, JSON.stringify({ spec: f.spec, ops: small, check: e.check, message: e.message, expected: e.expected, got: e.got, delivery: e.delivery }, null, 1))
    console.log(`\n==== minimal failing case: seed ${f.spec.seed} (${f.spec.cls}) ====`)
    console.log(`spec: ${JSON.stringify(f.spec)}`)
    console.log(`ops (${small.length} of ${ops.length}):`)
    for (const op of small) console.log('  ' + JSON.stringify(op))
    console.log(`check: ${e.check}\nmessage: ${e.message}\nexpected: ${clip(e.expected)}\ngot:      ${clip(e.got)}`)
    if (e.delivery) console.log(`delivery (${e.delivery.mode}, gc ${e.delivery.gc}): ${e.delivery.updates.length} updates, hex in ${file}`)
    console.log(`replay: node tests/diff/diff.mjs --qdoc ${qbin} --replay ${file}`)
  }
  q.close()

  console.log('\n==== diff summary ====')
  console.log(`cases: ${stats.cases} passed, ${failures.length} failed, in ${secs.toFixed(1)} s (seeds ${base}..${base + ncases - 1})`)
  console.log(`classes: ${Object.entries(stats.byClass).map(([c, n]) => `${c} ${n}`).join(', ')}; most clients in one document: ${stats.max_clients}`)
  console.log(`ops executed: ${stats.ops}; updates collected: ${stats.updates}; delivery orders checked: ${stats.feeds}; C local edits checked: ${stats.c_local} (update byte-identical to yjs making the same edit: ${stats.c_local_same})`)
  console.log(`byte-identical encodeState: ${stats.byte_same} of ${stats.byte_checks} comparisons (asserted for single-client text cases)`)
  console.log(`roots C never saw (read null, yjs an empty value): ${stats.absent}`)
  console.log(`documented JSON exceptions used: emptied root read as another empty value ${stats.exc_empty}, XmlFragment root as array ${stats.exc_xml}, yjs pending lag ${stats.exc_pending}`)
  if (stats.y_pending) console.log(`note: yjs itself kept pending data after the full sequence in ${stats.y_pending} checks`)
  if (failures.length) process.exitCode = 1
}

main().catch((e) => { console.error(e); process.exit(2) })
