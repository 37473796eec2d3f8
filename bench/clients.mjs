#!/usr/bin/env node
// Documents with many clients: what one edit costs when a document has been
// edited by N clients (each browser session is a new Yjs client, so a
// long-lived document collects thousands). quire (bench/qclients), yjs and
// ywasm, each in its own process, on the same input bytes.
//
//   node bench/clients.mjs [--qclients PATH] [--counts 1,100,1000,10000] [--markdown FILE]
//
// For each N, this script writes one input file with yjs: a setup update (a
// text "t" holding one character from each of N clients, client ids 1000..)
// and 5,000 one-character inserts by client 2, one update each. Every library
// loads the setup into a doc of client 1, then measures on it:
//   local   a one-character insert at i % 50, one transaction each, no update
//           listener (as the T1 replay)
//   remote  applying client 2's updates one by one and getting each update
//           event (quire: qc_doc_last_update; yjs: the 'update' event; ywasm:
//           onUpdate), which is what a sync server stores and relays
// Each phase runs until it has done 5,000 operations or spent 1 s; the figure
// is microseconds per operation. Prints a table with peer/quire ratios.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'

const require = createRequire(import.meta.url)
const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(HERE, '..')
const OPS = 5000
const BUDGET_MS = 1000

// ---------------------------------------------------------------------------
// input file: u32le length + setup update, u32le count, count × (u32le length + update)

function writeInput (file, n) {
  const Y = require('yjs')
  const ups = []
  for (let i = 0; i < n; i++) {
    const x = new Y.Doc()
    x.clientID = 1000 + i
    x.getText('t').insert(0, 'a')
    ups.push(Y.encodeStateAsUpdate(x))
  }
  const setup = Y.mergeUpdates(ups)
  const r = new Y.Doc()
  r.clientID = 2
  const remote = []
  r.on('update', (u) => remote.push(u))
  for (let i = 0; i < OPS; i++) r.getText('t').insert(i, 'c')
  const parts = []
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b }
  parts.push(u32(setup.length), Buffer.from(setup), u32(remote.length))
  for (const u of remote) parts.push(u32(u.length), Buffer.from(u))
  writeFileSync(file, Buffer.concat(parts))
}

function readInput (file) {
  const b = readFileSync(file)
  let off = 0
  const u32 = () => { const v = b.readUInt32LE(off); off += 4; return v }
  const bytes = (n) => { const s = new Uint8Array(b.buffer, b.byteOffset + off, n); off += n; return s }
  const setup = bytes(u32())
  const count = u32()
  const remote = []
  for (let i = 0; i < count; i++) remote.push(bytes(u32()))
  return { setup, remote }
}

// ---------------------------------------------------------------------------
// the peers (run in a child: node bench/clients.mjs --peer yjs|ywasm FILE)

function phase (fn) {
  const t0 = performance.now()
  let i = 0
  for (; i < OPS; i++) {
    fn(i)
    if ((i & 63) === 63 && performance.now() - t0 > BUDGET_MS) { i++; break }
  }
  return { ops: i, us: (performance.now() - t0) * 1e3 / i }
}

function runPeer (lib, file) {
  const { setup, remote } = readInput(file)
  let local, rem, version
  if (lib === 'yjs') {
    const Y = require('yjs')
    version = require('yjs/package.json').version
    const d = new Y.Doc()
    d.clientID = 1
    Y.applyUpdate(d, setup)
    const t = d.getText('t')
    local = phase((i) => t.insert(i % 50, 'b'))
    let bytes = 0
    d.on('update', (u) => { bytes += u.length })
    rem = phase((i) => Y.applyUpdate(d, remote[i]))
    if (!bytes) throw new Error('no update events')
  } else if (lib === 'ywasm') {
    const Y = require('ywasm')
    version = require('ywasm/package.json').version
    const d = new Y.YDoc({ clientID: 1, gc: true })
    Y.applyUpdate(d, setup)
    const t = d.getText('t')
    local = phase((i) => { const tx = d.beginTransaction(); t.insert(i % 50, 'b', undefined, tx); tx.commit(); tx.free() })
    let bytes = 0
    const obs = d.onUpdate((u) => { bytes += u.length })
    rem = phase((i) => Y.applyUpdate(d, remote[i]))
    obs.free()
    if (!bytes) throw new Error('no update events')
  } else {
    throw new Error(`unknown peer ${lib}`)
  }
  console.log(JSON.stringify({ lib, version, localOps: local.ops, localUs: local.us, remoteOps: rem.ops, remoteUs: rem.us }))
}

// ---------------------------------------------------------------------------

function runChild (cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600000, maxBuffer: 16 << 20 })
  const line = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{')).pop()
  try { if (line) return JSON.parse(line) } catch {}
  return { fatal: `no result (status ${r.status}, signal ${r.signal})${r.stderr ? ': ' + r.stderr.slice(-400) : ''}` }
}

const fmt = (x) => x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)

function main () {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { qclients: { type: 'string' }, counts: { type: 'string' }, markdown: { type: 'string' }, peer: { type: 'string' } }
  })
  if (values.peer) return runPeer(values.peer, positionals[0])
  const qclients = values.qclients ?? join(REPO, 'build-bench/tests/diff/qclients')
  const counts = (values.counts ?? '1,100,1000,10000').split(',').map(Number)
  const dir = mkdtempSync(join(tmpdir(), 'quire-clients-'))
  const rows = []
  try {
    for (const n of counts) {
      const file = join(dir, `clients-${n}.bin`)
      writeInput(file, n)
      const res = { quire: runChild(qclients, [file]) }
      for (const lib of ['yjs', 'ywasm']) res[lib] = runChild(process.execPath, [fileURLToPath(import.meta.url), '--peer', lib, file])
      rows.push({ n, res })
      const q = res.quire
      const cell = (r, k) => r.fatal ? `(${r.fatal.slice(0, 60)})` : `${fmt(r[k])}${r === q ? '' : ` (${fmt(r[k] / q[k])}×)`}`
      console.log(`N=${n}: local µs/edit  quire ${cell(q, 'localUs')}  yjs ${cell(res.yjs, 'localUs')}  ywasm ${cell(res.ywasm, 'localUs')}`)
      console.log(`${' '.repeat(String(n).length + 3)} remote µs/update quire ${cell(q, 'remoteUs')}  yjs ${cell(res.yjs, 'remoteUs')}  ywasm ${cell(res.ywasm, 'remoteUs')}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  if (values.markdown) {
    const v = (lib) => rows.find((r) => r.res[lib].version)?.res[lib].version ?? '?'
    const lines = [
      `| clients | local edit, quire µs | yjs ${v('yjs')} (×) | ywasm ${v('ywasm')} (×) | remote update + event, quire µs | yjs (×) | ywasm (×) |`,
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
    ]
    for (const { n, res } of rows) {
      const q = res.quire
      const c = (lib, k) => res[lib].fatal ? 'failed' : `${fmt(res[lib][k])} (${fmt(res[lib][k] / q[k])}×)`
      lines.push(`| ${n} | ${q.fatal ? 'failed' : fmt(q.localUs)} | ${c('yjs', 'localUs')} | ${c('ywasm', 'localUs')} | ${q.fatal ? 'failed' : fmt(q.remoteUs)} | ${c('yjs', 'remoteUs')} | ${c('ywasm', 'remoteUs')} |`)
    }
    writeFileSync(values.markdown, lines.join('\n') + '\n')
  }
}

main()
