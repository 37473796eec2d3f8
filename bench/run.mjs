#!/usr/bin/env node
// Orchestrates the trace benchmarks: for every trace, quire (bench/qbench) and
// each JS peer (bench/peer.mjs) run in their own child process, one at a
// time; memory after load is measured by yet another fresh process per peer.
// Prints a table per trace with peer/quire ratios and writes
// bench/results/results-<timestamp>.json.
//
//   node bench/run.mjs --qbench PATH [--libs quire,yjs,ywasm,loro,automerge]
//                      [--traces automerge-paper,...] [--markdown FILE]
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { cpus, totalmem, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(HERE, '..')
const TRACES = [
  'sequential/automerge-paper', 'sequential/seph-blog1', 'sequential/rustcode', 'sequential/sveltecomponent',
  'sequential/friendsforever_flat', 'sequential/clownschool_flat', 'concurrent/friendsforever', 'concurrent/clownschool'
]
const LIBS = ['quire', 'yjs', 'ywasm', 'loro', 'automerge']

const { values } = parseArgs({
  options: {
    qbench: { type: 'string' },
    libs: { type: 'string' },
    traces: { type: 'string' },
    markdown: { type: 'string' },
    timeout: { type: 'string' }
  }
})
const libs = values.libs ? values.libs.split(',') : LIBS
const traces = values.traces ? TRACES.filter((t) => values.traces.split(',').some((x) => t.endsWith('/' + x))) : TRACES
const qbench = values.qbench ?? join(REPO, 'build-bench/tests/diff/qbench')
const timeoutMs = Number(values.timeout ?? 300) * 1000

function runChild (cmd, args) {
  const t0 = Date.now()
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 })
  const wall = Date.now() - t0
  const line = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{')).pop()
  let res = null
  try { res = line ? JSON.parse(line) : null } catch {}
  if (!res) res = { fatal: `no result (status ${r.status}, signal ${r.signal})${r.stderr ? ': ' + r.stderr.slice(-500) : ''}` }
  res.wallMs = wall
  return res
}

const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex')

const results = []
const t0 = Date.now()
for (const tr of traces) {
  const file = join(REPO, 'tests/traces', tr + '.json.gz')
  const name = tr.split('/')[1]
  const row = { trace: name, kind: tr.split('/')[0], libs: {} }
  for (const lib of libs) {
    let res
    if (lib === 'quire') {
      if (!existsSync(qbench)) { res = { fatal: `qbench not built (${qbench})` } } else {
        const dump = join(tmpdir(), `quire-bench-${process.pid}-quire.bin`)
        res = runChild(qbench, [file, '--dump', dump])
        if (existsSync(dump)) { res.snapshotSha = sha(dump); rmSync(dump) }
      }
    } else {
      res = runChild(process.execPath, ['--expose-gc', join(HERE, 'peer.mjs'), lib, file])
      if (res.snapshotFile && existsSync(res.snapshotFile)) {
        res.snapshotSha = sha(res.snapshotFile)
        const lm = runChild(process.execPath, ['--expose-gc', join(HERE, 'peer.mjs'), lib, file, '--loadmem', res.snapshotFile])
        Object.assign(res, { memAfterLoad: lm.memAfterLoad, peakRssDeltaLoad: lm.peakRssDeltaLoad })
        rmSync(res.snapshotFile)
        delete res.snapshotFile
      }
    }
    row.libs[lib] = res
    const status = res.fatal ? `FAILED: ${res.fatal.split('\n')[0]}` : res.skipped ? `skipped (${res.skipped})` : (res.errors?.length ? `CHECK ERRORS: ${res.errors.join('; ')}` : 'ok')
    console.error(`  ${name} × ${lib}: ${status} (${(res.wallMs / 1000).toFixed(1)} s)`)
  }
  const q = row.libs.quire; const y = row.libs.yjs
  if (q?.snapshotSha && y?.snapshotSha) row.quireSnapshotIdenticalToYjs = q.snapshotSha === y.snapshotSha
  results.push(row)
}
const totalS = (Date.now() - t0) / 1000

// ---------------------------------------------------------------------------
// tables

const fmtMs = (v) => v == null ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3)
const fmtB = (v) => v == null ? '–' : v >= 1 << 20 ? (v / (1 << 20)).toFixed(2) + ' MiB' : v >= 1024 ? (v / 1024).toFixed(0) + ' KiB' : v + ' B'
const fmtN = (v) => v == null ? '–' : v >= 1e6 ? (v / 1e6).toFixed(2) + 'M' : v >= 1e3 ? (v / 1e3).toFixed(0) + 'k' : v.toFixed(0)
const ratio = (p, q, higherIsBetter = false) => (p == null || q == null || q === 0) ? '' : ` (${(higherIsBetter ? q / p : p / q).toFixed(p / q >= 10 ? 0 : 1)}×)`

const SEQ_COLS = [
  ['replay ms', 'replayMs', fmtMs],
  ['ops/s', 'opsPerSec', fmtN, true],
  ['replay+upd ms', 'replayUpdMs', fmtMs],
  ['stream ms', 'streamMs', fmtMs],
  ['encode ms', 'encodeMs', fmtMs],
  ['snapshot', 'snapshotBytes', fmtB],
  ['load ms', 'loadMs', fmtMs],
  ['load+update ms', 'loadUpdMs', fmtMs],
  ['history → apply ms', 'historyLoadMs', fmtMs],
  ['merge 10k ms', 'merge10kMs', fmtMs],
  ['diff ms', 'diffMs', fmtMs],
  ['mem after replay', 'memAfterReplay', fmtB],
  ['mem after load', 'memAfterLoad', fmtB],
  ['peak RSS Δ', 'peakRssDelta', fmtB],
  ['peak alloc (quire)', 'peakBytes', fmtB]
]
const CONC_COLS = [
  ['DAG replay ms', 'dagReplayMs', fmtMs],
  ['encode ms', 'encodeMs', fmtMs],
  ['snapshot', 'snapshotBytes', fmtB],
  ['load ms', 'loadMs', fmtMs],
  ['load+update ms', 'loadUpdMs', fmtMs],
  ['mem after load', 'memAfterLoad', fmtB]
]

const md = []
md.push(`Cells: value (peer/quire ratio; for ops/s quire/peer, so >1× always means quire is ahead). "–": not applicable or not measured.`)
for (const row of results) {
  const cols = row.kind === 'concurrent' ? CONC_COLS : SEQ_COLS
  const q = row.libs.quire && !row.libs.quire.fatal ? row.libs.quire : null
  md.push('', `### ${row.trace} (${row.kind}${q ? `, ${q.txns} txns, ${q.patches} patches` : ''})`, '')
  md.push('| library | ' + cols.map((c) => c[0]).join(' | ') + ' |')
  md.push('| --- | ' + cols.map(() => '---:').join(' | ') + ' |')
  for (const lib of libs) {
    const r = row.libs[lib]
    if (!r) continue
    const label = lib === 'quire' ? 'quire' : `${lib} ${r.version ?? ''}`.trim()
    if (r.fatal) { md.push(`| ${label} | failed: ${r.fatal.split('\n')[0].slice(0, 120)} |`); continue }
    if (r.skipped) { md.push(`| ${label} | ${r.skipped} |`); continue }
    const cells = cols.map(([, key, f, hib]) => {
      const v = r[key]
      if (v == null) return '–'
      return f(v) + (lib !== 'quire' && q && q[key] != null ? ratio(v, q[key], hib) : '')
    })
    md.push(`| ${label}${r.errors?.length ? ' ⚠' : ''} | ` + cells.join(' | ') + ' |')
  }
  if (row.quireSnapshotIdenticalToYjs !== undefined) md.push('', `quire's v1 snapshot byte-identical to Yjs's: **${row.quireSnapshotIdenticalToYjs ? 'yes' : 'no'}**` + (q?.mergeAllMs != null ? `; quire merges the first ${q.mergeAllCount} stream updates in ${fmtMs(q.mergeAllMs)} ms` : ''))
  const errs = Object.entries(row.libs).filter(([, r]) => r.errors?.length).map(([l, r]) => `${l}: ${r.errors.join('; ')}`)
  if (errs.length) md.push('', '⚠ check errors: ' + errs.join(' | '))
}
const text = md.join('\n')
console.log(text)
console.log(`\n(total ${totalS.toFixed(0)} s)`)

mkdirSync(join(HERE, 'results'), { recursive: true })
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
const meta = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model, cores: cpus().length, memGiB: +(totalmem() / 2 ** 30).toFixed(1),
  versions: Object.fromEntries(['yjs', 'ywasm', 'loro-crdt', 'lib0'].map((p) => {
    try { return [p, JSON.parse(readFileSync(join(HERE, 'node_modules', p, 'package.json'), 'utf8')).version] } catch { return [p, null] }
  }).concat([['@automerge/automerge', (() => { try { return JSON.parse(readFileSync(join(HERE, 'node_modules/@automerge/automerge/package.json'), 'utf8')).version } catch { return null } })()]])),
  totalSeconds: totalS
}
const outFile = join(HERE, 'results', `results-${stamp}.json`)
writeFileSync(outFile, JSON.stringify({ meta, results }, null, 1))
if (values.markdown) writeFileSync(values.markdown, text + '\n')
console.error(`results: ${outFile}`)
const failed = results.some((r) => Object.values(r.libs).some((x) => x.errors?.length))
process.exitCode = failed ? 1 : 0
