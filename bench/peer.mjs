#!/usr/bin/env node
// One peer library × one trace, in its own process (bench/run.mjs starts one
// per pair, with --expose-gc). Prints one JSON object on stdout.
//
//   node --expose-gc bench/peer.mjs <yjs|ywasm|loro|automerge> <trace.json.gz>
//
// Order inside the process: load the trace, GC, take the baseline; replay once
// and measure memory with the doc alive (heapUsed + external after GC, which
// on Node 20 includes wasm linear memory, and peak RSS growth); then the
// timed runs. Every timing is the
// median of up to 5 runs (fewer when one run takes over ~1.5 s), each on a
// fresh doc. Every replayed or loaded text is checked against endContent.
//
// Rules (same as bench/qbench.c and the perf-anchors note):
//   replay       one library transaction per trace txn, no update listener
//   replay+upd   same, capturing the update of every txn (what a peer emits)
//   stream       those updates applied one by one to a fresh doc
//   encode/load  snapshot (Yjs/ywasm: encodeStateAsUpdate v1; Loro: export
//                snapshot; Automerge: save) and loading it into a fresh doc
//                (+ reading the text)
//   history      the whole editing history as one update (Yjs/ywasm: the
//                state of a gc:false replay; Loro: export update) → apply
//   merge10k     merge the first 10,000 per-txn updates without a doc
//   diff         diff the history update against the state vector at the
//                half-way clock
// Concurrent traces (yjs, ywasm): one doc per agent, following the parents
// DAG (as tests/diff/trace_replay.c does); then the merged state is encoded
// and loaded.
import { createRequire } from 'node:module'
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { performance } from 'node:perf_hooks'

const require = createRequire(import.meta.url)
const [,, lib, tracePath, mode, snapFile] = process.argv
const gc = globalThis.gc ?? (() => {})
const now = () => performance.now()

// ---------------------------------------------------------------------------
// adapters

function yjsAdapter () {
  const Y = require('yjs')
  return {
    version: require('yjs/package.json').version,
    wasmBytes: () => 0,
    replay (trace, { gc: g = true, collect = false } = {}) {
      const d = new Y.Doc({ gc: g }); d.clientID = 1
      const t = d.getText('text')
      const ups = collect ? [] : null
      if (collect) d.on('update', (u) => ups.push(u))
      for (const txn of trace.txns) {
        d.transact(() => {
          for (const [pos, del, ins] of txn.patches) {
            if (del) t.delete(pos, del)
            if (ins) t.insert(pos, ins)
          }
        })
      }
      return { doc: d, ups }
    },
    agentDoc (agent) { const d = new Y.Doc(); d.clientID = agent + 1; return d },
    localTxn (d, patches) {
      let u = null
      const h = (x) => { u = x }
      d.on('update', h)
      const t = d.getText('text')
      d.transact(() => { for (const [pos, del, ins] of patches) { if (del) t.delete(pos, del); if (ins) t.insert(pos, ins) } })
      d.off('update', h)
      return u
    },
    text: (d) => d.getText('text').toString(),
    encode: (d) => Y.encodeStateAsUpdate(d),
    sv: (d) => Y.encodeStateVector(d),
    load (bytes) { const d = new Y.Doc(); Y.applyUpdate(d, bytes); return d },
    remoteEdit (bytes, k, ch) {
      const p = new Y.Doc(); p.clientID = 2; Y.applyUpdate(p, bytes)
      let u = null
      p.on('update', (x) => { u = x })
      p.getText('text').insert(k, ch)
      p.destroy()
      return u
    },
    loadApply (bytes, u) { const d = new Y.Doc(); Y.applyUpdate(d, bytes); Y.applyUpdate(d, u); return d },
    fresh: () => new Y.Doc(),
    apply: (d, u) => Y.applyUpdate(d, u),
    merge: (ups) => Y.mergeUpdates(ups),
    diff: (u, sv) => Y.diffUpdate(u, sv),
    svFor: (clock) => Y.encodeStateVector(new Map([[1, clock]])),
    free: (d) => d.destroy()
  }
}

function ywasmAdapter () {
  const Y = require('ywasm')
  const txnDo = (d, fn) => { const tx = d.beginTransaction(); try { fn(tx) } finally { tx.commit(); tx.free() } }
  return {
    version: require('ywasm/package.json').version,
    wasmBytes: () => Y.__wasm.memory.buffer.byteLength,
    replay (trace, { gc: g = true, collect = false } = {}) {
      const d = new Y.YDoc({ clientID: 1, gc: g })
      const t = d.getText('text')
      const ups = collect ? [] : null
      let obs = null
      if (collect) obs = d.onUpdate((u) => ups.push(u))
      for (const txn of trace.txns) {
        txnDo(d, (tx) => {
          for (const [pos, del, ins] of txn.patches) {
            if (del) t.delete(pos, del, tx)
            if (ins) t.insert(pos, ins, undefined, tx)
          }
        })
      }
      if (obs) obs.free()
      return { doc: d, ups }
    },
    agentDoc (agent) { return new Y.YDoc({ clientID: agent + 1, gc: true }) },
    localTxn (d, patches) {
      const t = d.getText('text')
      const before = Y.encodeStateVector(d)
      txnDo(d, (tx) => { for (const [pos, del, ins] of patches) { if (del) t.delete(pos, del, tx); if (ins) t.insert(pos, ins, undefined, tx) } })
      return Y.encodeStateAsUpdate(d, before) // structs of this txn + the whole delete set
    },
    text: (d) => d.getText('text').toString(),
    encode: (d) => Y.encodeStateAsUpdate(d),
    sv: (d) => Y.encodeStateVector(d),
    load (bytes) { const d = new Y.YDoc({}); Y.applyUpdate(d, bytes); return d },
    remoteEdit (bytes, k, ch) {
      const p = new Y.YDoc({ clientID: 2 }); Y.applyUpdate(p, bytes)
      let u = null
      const obs = p.onUpdate((x) => { u = x })
      const t = p.getText('text')
      txnDo(p, (tx) => t.insert(k, ch, undefined, tx))
      obs.free(); p.free()
      return u
    },
    loadApply (bytes, u) { const d = new Y.YDoc({}); Y.applyUpdate(d, bytes); Y.applyUpdate(d, u); return d },
    fresh: () => new Y.YDoc({}),
    apply: (d, u) => Y.applyUpdate(d, u),
    merge: null, // ywasm 0.18 exports no doc-less merge/diff
    diff: null,
    free: (d) => d.free()
  }
}

function loroAdapter () {
  const L = require('loro-crdt')
  const wasm = require('loro-crdt/nodejs/loro_wasm.js').__wasm
  return {
    version: require('loro-crdt/package.json').version,
    wasmBytes: () => wasm.memory.buffer.byteLength,
    replay (trace, { collect = false } = {}) {
      const d = new L.LoroDoc(); d.setPeerId(1)
      const t = d.getText('text')
      const ups = collect ? [] : null
      let unsub = null
      if (collect) unsub = d.subscribeLocalUpdates((u) => ups.push(u))
      for (const txn of trace.txns) {
        for (const [pos, del, ins] of txn.patches) {
          if (del) t.delete(pos, del)
          if (ins) t.insert(pos, ins)
        }
        d.commit()
      }
      if (unsub) unsub()
      return { doc: d, ups }
    },
    text: (d) => d.getText('text').toString(),
    encode: (d) => d.export({ mode: 'snapshot' }),
    historyOf: (d) => d.export({ mode: 'update' }),
    load (bytes) { return L.LoroDoc.fromSnapshot(bytes) },
    remoteEdit (bytes, k, ch) {
      const p = L.LoroDoc.fromSnapshot(bytes); p.setPeerId(2)
      const vv = p.oplogVersion()
      p.getText('text').insert(k, ch); p.commit()
      const u = p.export({ mode: 'update', from: vv })
      p.free()
      return u
    },
    loadApply (bytes, u) { const d = L.LoroDoc.fromSnapshot(bytes); d.import(u); return d },
    fresh: () => new L.LoroDoc(),
    apply: (d, u) => d.import(u),
    merge: null,
    diff: null,
    free: (d) => d.free()
  }
}

async function automergeAdapter () {
  const A = await import('@automerge/automerge')
  return {
    version: JSON.parse(readFileSync(new URL('./node_modules/@automerge/automerge/package.json', import.meta.url), 'utf8')).version,
    wasmBytes: () => 0,
    replay (trace) {
      let d = A.from({ text: '' }, { actor: '01' })
      for (const txn of trace.txns) {
        d = A.change(d, (x) => { for (const [pos, del, ins] of txn.patches) A.splice(x, ['text'], pos, del, ins ?? '') })
      }
      return { doc: d, ups: null }
    },
    text: (d) => d.text,
    encode: (d) => A.save(d),
    load: (bytes) => A.load(bytes),
    remoteEdit (bytes, k, ch) {
      const p = A.change(A.load(bytes, { actor: '02' }), (x) => A.splice(x, ['text'], k, 0, ch))
      const u = A.getLastLocalChange(p)
      A.free(p)
      return u
    },
    loadApply: (bytes, u) => A.applyChanges(A.load(bytes), [u])[0],
    merge: null,
    diff: null,
    free: (d) => A.free(d)
  }
}

// ---------------------------------------------------------------------------

function loadTrace (p) {
  const t = JSON.parse(gunzipSync(readFileSync(p)).toString('utf8'))
  t.concurrent = t.kind === 'concurrent'
  t.nPatches = t.txns.reduce((n, x) => n + x.patches.length, 0)
  for (const x of t.txns) for (const pa of x.patches) if (pa[2] && /[\u{10000}-\u{10FFFF}]/u.test(pa[2])) throw new Error('astral chars: positions would need conversion')
  return t
}

function median (xs) { const s = xs.slice().sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

// run fn(i) up to 5 times (fewer when slow); returns { ms: median, runs, last }
function timed (fn, { max = 5, budgetMs = 1500 } = {}) {
  const xs = []
  let last
  let spent = 0
  for (let i = 0; i < max; i++) {
    gc()
    const t0 = now(); last = fn(i); const dt = now() - t0
    xs.push(dt); spent += dt
    if (spent > budgetMs && xs.length >= 1) break
  }
  return { ms: median(xs), runs: xs.length, last }
}

function memNow (ad) {
  gc(); gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed + m.external, wasm: ad.wasmBytes(), rss: m.rss }
}
// heapUsed + external only: V8 counts a WebAssembly.Memory's buffer in
// `external` (on Node 20, growing one by 1,000 pages adds 65.5 MB there), so
// adding the wasm growth on top would count the wasm peers' linear memory
// twice. (No check that the wasm growth lies inside the external growth:
// other external buffers freed meanwhile can make the external growth the
// smaller one; bench/docs.mjs reports both for a look.)
const memDelta = (a, b) => b.heap - a.heap

function check (ad, d, trace, what, out) {
  const txt = ad.text(d)
  if (txt !== trace.endContent) {
    out.errors.push(`${what}: text differs (${txt.length} vs ${trace.endContent.length} chars)`)
    return false
  }
  return true
}

function clockAtHalf (trace) {
  let c = 0
  for (let i = 0; i < Math.floor(trace.txns.length / 2); i++) for (const p of trace.txns[i].patches) c += p[2] ? p[2].length : 0
  return c
}

// Load and then one remote update, as a server opens a stored document and
// integrates the next edit: another peer loads the same snapshot and inserts
// one character in the middle of the text; timed: the load, the update's
// apply and the text read (qbench.c's load_update does the same).
function loadUpdate (ad, trace, snapshot, out) {
  const k = Math.floor(trace.endContent.length / 2)
  const u = ad.remoteEdit(snapshot, k, 'x')
  const want = trace.endContent.slice(0, k) + 'x' + trace.endContent.slice(k)
  let prev = null
  const r = timed(() => { if (prev) ad.free(prev); const d = ad.loadApply(snapshot, u); ad.text(d); prev = d; return d }, { max: 21, budgetMs: 1000 })
  out.loadUpdMs = r.ms
  if (ad.text(r.last) !== want) out.errors.push('load+update: text differs')
  ad.free(r.last)
}

async function main () {
  const ad = lib === 'yjs' ? yjsAdapter() : lib === 'ywasm' ? ywasmAdapter() : lib === 'loro' ? loroAdapter() : lib === 'automerge' ? await automergeAdapter() : null
  if (!ad) throw new Error(`unknown library ${lib}`)
  const trace = loadTrace(tracePath)
  if (mode === '--loadmem') {
    const bytes = new Uint8Array(readFileSync(snapFile))
    const m0 = memNow(ad)
    const rss0 = process.resourceUsage().maxRSS * 1024
    const d = ad.load(bytes)
    const ok = ad.text(d) === trace.endContent
    const m1 = memNow(ad)
    console.log(JSON.stringify({ memAfterLoad: memDelta(m0, m1), peakRssDeltaLoad: Math.max(0, process.resourceUsage().maxRSS * 1024 - rss0), loadTextOk: ok }))
    return
  }
  const out = { lib, version: ad.version, trace: tracePath.replace(/^.*\//, '').replace(/\.json\.gz$/, ''), txns: trace.txns.length, patches: trace.nPatches, errors: [] }
  const base = memNow(ad)
  const baseMaxRss = process.resourceUsage().maxRSS * 1024

  if (trace.concurrent) {
    if (!ad.agentDoc) { out.skipped = 'no concurrent replay for this library'; console.log(JSON.stringify(out)); return }
    // DAG replay: one doc per agent
    const dag = () => {
      const n = trace.numAgents
      const docs = []; const have = []
      for (let a = 0; a < n; a++) { docs.push(ad.agentDoc(a)); have.push(new Uint8Array(trace.txns.length)) }
      const per = new Array(trace.txns.length)
      trace.txns.forEach((x, i) => {
        const d = docs[x.agent]; const h = have[x.agent]
        const stack = []; const todo = []
        for (const p of x.parents) if (!h[p]) { h[p] = 1; stack.push(p) }
        while (stack.length) {
          const j = stack.pop(); todo.push(j)
          for (const p of trace.txns[j].parents) if (!h[p]) { h[p] = 1; stack.push(p) }
        }
        todo.sort((a, b) => a - b)
        for (const j of todo) ad.apply(d, per[j])
        per[i] = ad.localTxn(d, x.patches)
        h[i] = 1
      })
      const final = ad.fresh()
      for (const u of per) ad.apply(final, u)
      for (const d of docs) ad.free(d)
      return final
    }
    const r = timed(dag, { max: 3, budgetMs: 3000 })
    out.dagReplayMs = r.ms; out.dagRuns = r.runs
    check(ad, r.last, trace, 'DAG replay', out)
    const enc = timed(() => ad.encode(r.last), { max: 21, budgetMs: 500 })
    out.encodeMs = enc.ms; out.snapshotBytes = enc.last.length
    ad.free(r.last)
    let prev = null
    const ld = timed(() => { if (prev) ad.free(prev); const d = ad.load(enc.last); ad.text(d); prev = d; return d }, { max: 21, budgetMs: 1000 })
    out.loadMs = ld.ms
    check(ad, ld.last, trace, 'load', out)
    loadUpdate(ad, trace, enc.last, out)
    out.snapshotFile = join(tmpdir(), `quire-bench-${process.pid}-${lib}.bin`)
    writeFileSync(out.snapshotFile, enc.last)
    console.log(JSON.stringify(out))
    return
  }

  // 1. memory: one replay with the doc alive
  const t0 = now()
  const first = ad.replay(trace)
  const firstMs = now() - t0
  check(ad, first.doc, trace, 'replay', out)
  out.memAfterReplay = memDelta(base, memNow(ad))
  out.peakRssDelta = Math.max(0, process.resourceUsage().maxRSS * 1024 - baseMaxRss)
  const snapshot = ad.encode(first.doc)
  ad.free(first.doc)

  // 2. timings
  if (firstMs > 4000) {
    out.replayMs = firstMs; out.replayRuns = 1
  } else {
    const r = timed(() => { const x = ad.replay(trace); ad.free(x.doc); return null })
    out.replayMs = r.ms; out.replayRuns = r.runs
  }
  out.opsPerSec = trace.nPatches / (out.replayMs / 1000)

  const dd = ad.replay(trace).doc
  const e = timed(() => ad.encode(dd), { max: 21, budgetMs: 500 })
  out.encodeMs = e.ms; out.snapshotBytes = e.last.length
  if (ad.sv) out.svHex = Buffer.from(ad.sv(dd)).toString('hex')
  ad.free(dd)
  let prev = null
  const ld = timed(() => { if (prev) ad.free(prev); const d = ad.load(snapshot); ad.text(d); prev = d; return d }, { max: 21, budgetMs: 1000 })
  out.loadMs = ld.ms
  check(ad, ld.last, trace, 'load', out)
  ad.free(ld.last)
  loadUpdate(ad, trace, snapshot, out)
  // memory after load is measured by a fresh process (mode --loadmem): wasm
  // memory never shrinks, so in this process it would show the replay's peak
  out.snapshotFile = join(tmpdir(), `quire-bench-${process.pid}-${lib}.bin`)
  writeFileSync(out.snapshotFile, snapshot)

  if (lib !== 'automerge') {
    // replay with updates (gc off for Yjs/ywasm: the same run yields the history)
    const t1 = now()
    const r2 = ad.replay(trace, { gc: false, collect: true })
    out.replayUpdMs = now() - t1
    check(ad, r2.doc, trace, 'replay+updates', out)
    const ups = r2.ups
    out.updates = ups.length
    out.avgUpdateBytes = ups.reduce((n, u) => n + u.length, 0) / ups.length
    const history = ad.historyOf ? ad.historyOf(r2.doc) : ad.encode(r2.doc)
    out.historyBytes = history.length
    ad.free(r2.doc)
    let hp = null
    const h = timed(() => { if (hp) ad.free(hp); const d = ad.fresh(); ad.apply(d, history); ad.text(d); hp = d; return d }, { max: 11, budgetMs: 1000 })
    out.historyLoadMs = h.ms
    check(ad, h.last, trace, 'history load', out)
    let sp = null
    const s = timed(() => { if (sp) ad.free(sp); const d = ad.fresh(); for (const u of ups) ad.apply(d, u); sp = d; return d }, { max: 3, budgetMs: 2000 })
    out.streamMs = s.ms
    out.streamPerSec = ups.length / (s.ms / 1000)
    check(ad, s.last, trace, 'stream', out)
    if (ad.merge) {
      const part = ups.slice(0, 10000)
      const mg = timed(() => ad.merge(part), { max: 3, budgetMs: 3000 })
      out.merge10kMs = mg.ms; out.merge10kCount = part.length; out.merge10kBytes = mg.last.length
    }
    if (ad.diff) {
      const sv = ad.svFor(clockAtHalf(trace))
      const df = timed(() => ad.diff(history, sv), { max: 11, budgetMs: 1000 })
      out.diffMs = df.ms; out.diffBytes = df.last.length
    }
  }
  console.log(JSON.stringify(out))
}

main().catch((e) => { console.log(JSON.stringify({ lib, trace: tracePath, fatal: String(e && e.stack || e) })); process.exit(1) })
