#!/usr/bin/env node
// Many documents in one process: bytes per loaded document, for documents of
// several sizes, with N of them alive at once (a sync server holds many rooms,
// most of them small, and what each document costs decides how many fit).
// quire (bench/qdocs), yjs, ywasm and loro-crdt, each library and size in its
// own process.
//
//   node bench/docs.mjs [--qdocs PATH] [--classes empty,note,page,paper]
//                       [--n empty=2000,note=1000,page=100,paper=10]
//                       [--libs quire,yjs,ywasm,loro] [--markdown FILE]
//
// Sizes, all from tests/traces/sequential/automerge-paper.json.gz:
//   empty   the text root "text" exists and is empty
//   note    the first 1,000 patches
//   page    the first 20,000 patches
//   paper   all 259,778 patches
// This script replays the trace once with yjs (clientID 1, one transaction
// per trace txn, into getText('text')) and once with Loro (peerId 1, one
// commit per txn), and at each size writes the Yjs v1 snapshot
// (Y.encodeStateAsUpdate), the Loro snapshot (export({mode:'snapshot'})) and
// the text; the two replays' texts must agree (and equal endContent for
// paper). quire and ywasm load exactly the Yjs bytes, Loro its own.
//
// Each child (qdocs FILE N TEXT, or node --expose-gc bench/docs.mjs --peer
// LIB FILE N TEXT) loads the snapshot into N fresh documents kept alive, reads
// each one's text once and checks it (an error if it differs), then reports
// (live bytes after - before) / N:
//   quire   the exact live bytes of its counting qc_alloc (qdocs.c), also
//           after qc_doc_trim on every document
//   peers   process.memoryUsage() heapUsed + external after gc(), with the
//           snapshot bytes read before the baseline. On Node 20 `external`
//           already includes the growth of wasm linear memory (checked: a
//           WebAssembly.Memory grown by 1,000 pages adds 65.5 MB to it), so
//           the wasm growth is reported beside it but not added again.
// Also printed: the growth of the process's resident set / N (indicative
// only: it includes malloc's headers for quire, and whatever pages V8 keeps
// after its collections for the JS peers) and µs per document for the load +
// text read (not the point; no warm-up, so the JS figures include the JIT's).
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { performance } from 'node:perf_hooks'

const require = createRequire(import.meta.url)
const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(HERE, '..')
const TRACE = join(REPO, 'tests/traces/sequential/automerge-paper.json.gz')
const CLASSES = { empty: 0, note: 1000, page: 20000, paper: Infinity }
const DEFAULT_N = { empty: 2000, note: 1000, page: 100, paper: 10 }
const LIBS = ['quire', 'yjs', 'ywasm', 'loro']

// ---------------------------------------------------------------------------
// the peers (run in a child: node --expose-gc bench/docs.mjs --peer LIB FILE N TEXT)

function peerAdapter (lib) {
  if (lib === 'yjs') {
    const Y = require('yjs')
    return {
      version: require('yjs/package.json').version,
      wasmBytes: () => 0,
      load (bytes) { const d = new Y.Doc(); Y.applyUpdate(d, bytes); return d },
      text: (d) => d.getText('text').toString()
    }
  }
  if (lib === 'ywasm') {
    const Y = require('ywasm')
    return {
      version: require('ywasm/package.json').version,
      wasmBytes: () => Y.__wasm.memory.buffer.byteLength,
      load (bytes) { const d = new Y.YDoc({}); Y.applyUpdate(d, bytes); return d },
      // the handle is freed at once rather than left to a finalizer
      text (d) { const t = d.getText('text'); const s = t.toString(); t.free(); return s }
    }
  }
  if (lib === 'loro') {
    const L = require('loro-crdt')
    const wasm = require('loro-crdt/nodejs/loro_wasm.js').__wasm
    return {
      version: require('loro-crdt/package.json').version,
      wasmBytes: () => wasm.memory.buffer.byteLength,
      load: (bytes) => L.LoroDoc.fromSnapshot(bytes),
      text (d) { const t = d.getText('text'); const s = t.toString(); t.free(); return s }
    }
  }
  throw new Error(`unknown peer ${lib}`)
}

function memNow (ad) {
  const gc = globalThis.gc
  if (!gc) throw new Error('run with node --expose-gc')
  gc(); gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, external: m.external, wasm: ad.wasmBytes(), rss: m.rss }
}

function runPeer (lib, file, nStr, textFile) {
  const n = Number(nStr)
  if (!(n > 0)) throw new Error(`bad N ${nStr}`)
  const ad = peerAdapter(lib)
  const bytes = new Uint8Array(readFileSync(file))
  const want = readFileSync(textFile, 'utf8')
  const docs = new Array(n).fill(null) // allocated before the baseline
  const m0 = memNow(ad)
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const d = ad.load(bytes)
    const s = ad.text(d)
    if (s !== want) throw new Error(`document ${i}: text differs (${s.length} vs ${want.length} chars)`)
    docs[i] = d
  }
  const loadUs = (performance.now() - t0) * 1e3 / n
  const m1 = memNow(ad)
  const heap = m1.heap - m0.heap
  const external = m1.external - m0.external
  const wasm = m1.wasm - m0.wasm
  if (wasm > external + (1 << 20)) throw new Error(`wasm growth ${wasm} not inside external ${external}`)
  console.log(JSON.stringify({
    lib,
    version: ad.version,
    n,
    alive: docs.length,
    bytesPerDoc: (heap + external) / n,
    heapPerDoc: heap / n,
    externalPerDoc: external / n,
    wasmPerDoc: wasm / n,
    rssPerDoc: (m1.rss - m0.rss) / n,
    loadUs
  }))
}

// ---------------------------------------------------------------------------
// snapshots

function loadTrace (p) {
  const t = JSON.parse(gunzipSync(readFileSync(p)).toString('utf8'))
  for (const x of t.txns) for (const pa of x.patches) if (pa[2] && /[\u{10000}-\u{10FFFF}]/u.test(pa[2])) throw new Error('astral chars: positions would need conversion')
  return t
}

// Replays the trace once per library and cuts a snapshot when the number of
// patches replayed reaches each class's size (at a txn boundary: every txn of
// automerge-paper has one patch, and a cut that is not exact is an error).
function writeSnapshots (dir, classes) {
  const Y = require('yjs')
  const L = require('loro-crdt')
  const trace = loadTrace(TRACE)
  const total = trace.txns.reduce((k, x) => k + x.patches.length, 0)
  const cuts = classes.map((c) => ({ c, at: Math.min(CLASSES[c], total) })).sort((a, b) => a.at - b.at)
  const last = cuts[cuts.length - 1].at

  const yd = new Y.Doc(); yd.clientID = 1
  const yt = yd.getText('text')
  const ld = new L.LoroDoc(); ld.setPeerId(1)
  const lt = ld.getText('text')
  const out = {}
  let done = 0
  let k = 0
  const cut = () => {
    for (; k < cuts.length && cuts[k].at === done; k++) {
      const c = cuts[k].c
      const text = yt.toString()
      if (lt.toString() !== text) throw new Error(`${c}: yjs and loro replays differ`)
      if (c === 'paper' && text !== trace.endContent) throw new Error('paper: text differs from endContent')
      const f = { yjs: join(dir, `${c}.yjs.bin`), loro: join(dir, `${c}.loro.bin`), text: join(dir, `${c}.txt`) }
      const ys = Y.encodeStateAsUpdate(yd)
      const ls = ld.export({ mode: 'snapshot' })
      writeFileSync(f.yjs, ys)
      writeFileSync(f.loro, ls)
      writeFileSync(f.text, text)
      out[c] = { ...f, patches: done, yjsBytes: ys.length, loroBytes: ls.length, chars: text.length }
    }
  }
  cut()
  for (const txn of trace.txns) {
    if (done >= last) break
    yd.transact(() => {
      for (const [pos, del, ins] of txn.patches) {
        if (del) { yt.delete(pos, del); lt.delete(pos, del) }
        if (ins) { yt.insert(pos, ins); lt.insert(pos, ins) }
      }
    })
    ld.commit()
    done += txn.patches.length
    if (k < cuts.length && done > cuts[k].at) throw new Error(`cut at ${cuts[k].at} patches falls inside a txn`)
    cut()
  }
  if (k < cuts.length) throw new Error('the trace ended before every cut')
  yd.destroy(); ld.free()
  return out
}

// ---------------------------------------------------------------------------

function runChild (cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300000, maxBuffer: 16 << 20 })
  const line = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{')).pop()
  try { if (line) return JSON.parse(line) } catch {}
  return { fatal: `no result (status ${r.status}, signal ${r.signal})${r.stderr ? ': ' + r.stderr.trim().split('\n').slice(-3).join(' ').slice(-300) : ''}` }
}

function fmtBytes (b) {
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(2)} MiB`
  if (b >= 10 << 10) return `${(b / 1024).toFixed(0)} KiB`
  if (b >= 1 << 10) return `${(b / 1024).toFixed(1)} KiB`
  return `${b.toFixed(0)} B`
}
const fmtExact = (b) => b >= 1 << 10 ? `${fmtBytes(b)} (${Math.round(b).toLocaleString('en')} B)` : fmtBytes(b)
const fmtX = (x) => x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)
const fmtUs = (x) => x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)

function main () {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      qdocs: { type: 'string' },
      classes: { type: 'string' },
      n: { type: 'string' },
      libs: { type: 'string' },
      markdown: { type: 'string' },
      peer: { type: 'string' }
    }
  })
  if (values.peer) return runPeer(values.peer, ...positionals)
  const qdocs = values.qdocs ?? join(REPO, 'build-bench/tests/diff/qdocs')
  const classes = (values.classes ?? Object.keys(CLASSES).join(',')).split(',')
  for (const c of classes) if (!(c in CLASSES)) throw new Error(`unknown class ${c} (${Object.keys(CLASSES).join(', ')})`)
  const counts = { ...DEFAULT_N }
  for (const kv of (values.n ?? '').split(',').filter(Boolean)) {
    const [c, v] = kv.split('=')
    if (!(c in CLASSES) || !(Number(v) > 0)) throw new Error(`bad --n entry ${kv} (class=count)`)
    counts[c] = Math.floor(Number(v))
  }
  const libs = (values.libs ?? LIBS.join(',')).split(',')
  for (const l of libs) if (!LIBS.includes(l)) throw new Error(`unknown library ${l}`)
  if (libs[0] !== 'quire') throw new Error('--libs must start with quire (the ratios are against it)')

  const dir = mkdtempSync(join(tmpdir(), 'quire-docs-'))
  const tables = []
  const t0 = performance.now()
  try {
    const snaps = writeSnapshots(dir, classes)
    for (const c of classes) {
      const s = snaps[c]
      const n = counts[c]
      const res = {}
      for (const lib of libs) {
        res[lib] = lib === 'quire'
          ? runChild(qdocs, [s.yjs, String(n), s.text])
          : runChild(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--peer', lib, lib === 'loro' ? s.loro : s.yjs, String(n), s.text])
      }
      tables.push({ c, n, s, res })
      console.log(`${c}: ${s.patches} patches, ${s.chars} chars, Yjs snapshot ${s.yjsBytes} B, Loro snapshot ${s.loroBytes} B; ${n} docs per process`)
      for (const lib of libs) {
        const r = res[lib]
        if (r.fatal) { console.log(`  ${lib.padEnd(6)} FAILED ${r.fatal}`); process.exitCode = 1; continue }
        const ratio = lib === 'quire' || res.quire.fatal ? '' : ` (${fmtX(r.bytesPerDoc / res.quire.bytesPerDoc)}×)`
        const extra = lib === 'quire'
          ? `trimmed ${fmtBytes(r.trimmedPerDoc)}, ${r.blocksPerDoc.toFixed(1)} blocks`
          : `heap ${fmtBytes(r.heapPerDoc)}, external ${fmtBytes(r.externalPerDoc)} of which wasm ${fmtBytes(r.wasmPerDoc)}`
        console.log(`  ${lib.padEnd(6)} ${fmtBytes(r.bytesPerDoc)}/doc${ratio}  [${extra}; RSS Δ ${fmtBytes(Math.max(0, r.rssPerDoc))}/doc; load ${fmtUs(r.loadUs)} µs/doc]`)
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`)

  if (values.markdown) {
    // the trimmed column only where qc_doc_trim changed something
    const trimDiffers = tables.some((t) => !t.res.quire.fatal && t.res.quire.trimmedPerDoc !== t.res.quire.bytesPerDoc)
    const lines = []
    for (const { c, n, s, res } of tables) {
      const q = res.quire
      lines.push(`### ${c}: ${s.patches.toLocaleString('en')} patches, ${s.chars.toLocaleString('en')} chars ` +
        `(Yjs snapshot ${s.yjsBytes.toLocaleString('en')} B, Loro ${s.loroBytes.toLocaleString('en')} B), ${n} docs alive`, '')
      lines.push(`| library | bytes per doc | peer/quire |${trimDiffers ? ' after qc_doc_trim |' : ''} RSS Δ per doc (indicative) | load + read µs/doc |`)
      lines.push(`| --- | ---: | ---: |${trimDiffers ? ' ---: |' : ''} ---: | ---: |`)
      for (const lib of libs) {
        const r = res[lib]
        const name = lib === 'quire' ? 'quire' : `${lib} ${r.version ?? ''}`.trim()
        if (r.fatal) { lines.push(`| ${name} | failed | – |${trimDiffers ? ' – |' : ''} – | – |`); continue }
        const ratio = lib === 'quire' ? '1×' : q.fatal ? '–' : `${fmtX(r.bytesPerDoc / q.bytesPerDoc)}×`
        const trim = trimDiffers ? ` ${lib === 'quire' ? fmtExact(r.trimmedPerDoc) : '–'} |` : ''
        lines.push(`| ${name} | ${fmtExact(r.bytesPerDoc)} | ${ratio} |${trim} ${fmtBytes(Math.max(0, r.rssPerDoc))} | ${fmtUs(r.loadUs)} |`)
      }
      lines.push('')
    }
    writeFileSync(values.markdown, lines.join('\n'))
  }
}

main()
