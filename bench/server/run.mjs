// Server-load benchmark: quire against the y-websocket server (@y/websocket-server)
// and Hocuspocus (@hocuspocus/server), same machine, same run, same clients.
// docs/server-benchmarks.md describes the method and records a run.
//
//   node run.mjs [--servers quire,y-websocket,hocuspocus] [--workers 2] [--quick]
//                [--no-tmpfs] [--data-parent DIR] [--wait-quiet SECONDS] [--out DIR]
//                [--levels rate-500,rate-2000,window-8,pairs-10000] [--no-memory]
//   (--levels / --no-memory run a subset, e.g. to profile one level)
//
// Phases:
//   1. idle connections (each server in turn, fresh process): RSS growth per
//      joined, idle connection
//   2. room memory (each server in turn, fresh process): RSS growth per room
//      holding a real document (the final state of the automerge-paper trace,
//      311 KB as one Yjs v1 update)
//   3. fan-out (all servers running, taking turns per level): rooms × members,
//      writers sending ~25 B single-character Yjs updates at fixed aggregate
//      rates, or with a fixed number of updates in flight per room (capacity);
//      delivered frames/s, latency, server CPU. quire runs twice here: data dir
//      on disk (--data-parent, default the temp dir) and on tmpfs (/dev/shm).
// Every figure comes with its checks; a phase that lost, duplicated or
// reordered anything, or whose documents do not converge, is reported as
// failed instead of as a number.

import { fork } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import { KINDS, startServer, procStats, machineCpu, tasksCpu, otherCpu, versions, quireBin } from './servers.mjs'
import { Histogram, fmtMs, fmtInt } from './stats.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const repo = path.resolve(here, '../..')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------
// Configuration

const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : dflt
}
const quick = argv.includes('--quick')
const SERVERS = opt('servers', KINDS.join(',')).split(',')
for (const k of SERVERS) if (!KINDS.includes(k)) throw new Error(`unknown server ${k} (known: ${KINDS.join(', ')})`)
const NWORKERS = Number(opt('workers', 2))
const OUT = path.resolve(opt('out', path.join(here, 'results')))
const SETTLE_MS = quick ? 1000 : 2000
// quire commits every update durably (fsync) before relaying it; the peers keep
// documents in memory only. A second quire, its LMDB on tmpfs (fsync costs
// nothing there), runs the fan-out levels too, to show what the disk adds.
const TMPFS = '/dev/shm'
// The machine is shared: before each timed fan-out run, wait up to this long
// for the CPU use of other processes to drop below QUIET_PCT of one core. The
// CPU of other processes during each run is recorded either way, and figures
// taken while it exceeded NOISY_PCT are marked † in the table.
const WAIT_QUIET_MS = Number(opt('wait-quiet', 0)) * 1000
const QUIET_PCT = 15
const NOISY_PCT = 25
const WITH_TMPFS = !argv.includes('--no-tmpfs') && SERVERS.includes('quire') && fs.existsSync(TMPFS)
// Parent of quire's fresh LMDB data directories (default: the system temp dir).
const DATA_PARENT = path.resolve(opt('data-parent', os.tmpdir()))

const CFG = {
  idle: { rooms: 40, connections: quick ? 400 : 2000 },
  roomMem: { rooms: quick ? 10 : 50, trace: 'automerge-paper' },
  fanout: {
    durationMs: quick ? 3000 : 8000,
    drainMs: 15000,
    // Rooms of 50 (10 rooms, 5 writers each): every update goes to 49 others.
    // Then pairs: 100 rooms of 2 members who both write, 10k updates/s in all.
    levels: [
      { name: 'rate-500', mode: 'rate', rate: 500, rooms: 10, members: 50, writers: 5 },
      { name: 'rate-2000', mode: 'rate', rate: 2000, rooms: 10, members: 50, writers: 5 },
      { name: 'window-8', mode: 'window', window: 8, rooms: 10, members: 50, writers: 5, perWriter: quick ? 600 : 1600 },
      { name: 'pairs-10000', mode: 'rate', rate: 10000, rooms: 100, members: 2, writers: 2 }
    ].filter((l) => !opt('levels', null) || opt('levels').split(',').includes(l.name))
  }
}

// ---------------------------------------------------------------------------
// Workers

class Workers {
  constructor (n) {
    this.procs = []
    this.pending = new Map()
    this.seq = 0
    for (let i = 0; i < n; i++) {
      const p = fork(path.join(here, 'worker.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      p.on('message', (msg) => {
        const cb = this.pending.get(msg.id)
        if (!cb) return
        this.pending.delete(msg.id)
        if (msg.ok) cb.resolve(msg.result); else cb.reject(new Error(`worker ${i}: ${msg.error}`))
      })
      p.on('exit', (code, signal) => {
        for (const [id, cb] of this.pending) {
          if (cb.worker === i) { this.pending.delete(id); cb.reject(new Error(`worker ${i} exited (${code ?? signal})`)) }
        }
      })
      this.procs.push(p)
    }
  }

  call (i, cmd, args = {}, timeoutMs = 120000) {
    const id = ++this.seq
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`worker ${i}: ${cmd} did not answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, {
        worker: i,
        resolve: (v) => { clearTimeout(t); resolve(v) },
        reject: (e) => { clearTimeout(t); reject(e) }
      })
      this.procs[i].send({ id, cmd, ...args })
    })
  }

  /** Call every worker; `argsFor(i)` gives each its share. */
  all (cmd, argsFor = () => ({}), timeoutMs) {
    return Promise.all(this.procs.map((_, i) => this.call(i, cmd, argsFor(i), timeoutMs)))
  }

  stop () {
    for (const p of this.procs) { try { p.send({ cmd: 'exit' }) } catch {} }
  }
}

const share = (list, i, n) => list.filter((_, j) => j % n === i)

// ---------------------------------------------------------------------------
// The document for the room-memory phase

function traceSnapshot (name) {
  const file = path.join(repo, 'tests/traces/sequential', `${name}.json.gz`)
  const gz = fs.readFileSync(file)
  const sha = crypto.createHash('sha256').update(gz).digest('hex').slice(0, 16)
  const dir = path.join(OUT, 'cache')
  const bin = path.join(dir, `${name}-${sha}.yupdate`)
  const txt = path.join(dir, `${name}-${sha}.txt`)
  if (fs.existsSync(bin) && fs.existsSync(txt)) return { bin, txt, bytes: fs.statSync(bin).size, cached: true }
  const trace = JSON.parse(zlib.gunzipSync(gz))
  const doc = new Y.Doc()
  doc.clientID = 0x5eed1234 // fixed, 32-bit like a browser's: the v1 update is 311 KB
  const text = doc.getText('t')
  if (trace.startContent) text.insert(0, trace.startContent)
  const t0 = performance.now()
  for (const txn of trace.txns) {
    doc.transact(() => {
      for (const [pos, del, ins] of txn.patches) {
        if (del) text.delete(pos, del)
        if (ins) text.insert(pos, ins)
      }
    })
  }
  if (text.toString() !== trace.endContent) throw new Error(`${name}: replay does not give endContent`)
  const update = Y.encodeStateAsUpdate(doc)
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(bin, update)
  fs.writeFileSync(txt, trace.endContent)
  console.log(`  (replayed ${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s; cached in ${path.relative(repo, dir)})`)
  return { bin, txt, bytes: update.length, cached: false }
}

// ---------------------------------------------------------------------------
// Phases

/** Wait (bounded) until other processes use less than QUIET_PCT of a core; returns the last reading. */
async function waitQuiet (maxMs, ours) {
  const deadline = performance.now() + maxMs
  let pct
  do {
    const a = tasksCpu()
    await sleep(1000)
    pct = 100 * otherCpu(a, tasksCpu(), ours).userSec
  } while (pct >= QUIET_PCT && performance.now() < deadline)
  return pct
}

async function settle (srv, ms = SETTLE_MS) {
  await sleep(ms)
  if (!srv.alive()) throw new Error(`${srv.kind} died\n${srv.stderrTail()}`)
  return procStats(srv.pid)
}

async function phaseIdle (W, kind) {
  const { rooms: nrooms, connections } = CFG.idle
  const rooms = Array.from({ length: nrooms }, (_, i) => `idle-${i}`)
  const srv = await startServer(kind, { dataParent: DATA_PARENT })
  try {
    const s0 = await settle(srv, 500)
    // One connection per room first, so the rest measure connections, not rooms.
    const n = W.procs.length
    const first = await W.all('idle-open', (i) => ({ kind, wsBase: srv.wsBase, rooms: share(rooms, i, n), count: share(rooms, i, n).length, offset: 0 }))
    const s1 = await settle(srv)
    const more = connections - nrooms
    const t0 = performance.now()
    const rest = await W.all('idle-open', (i) => {
      const mine = share(rooms, i, n)
      const count = Math.floor(more / n) + (i < more % n ? 1 : 0)
      return { kind, wsBase: srv.wsBase, rooms: mine, count, offset: 0 }
    }, 180000)
    const openMs = performance.now() - t0
    const s2 = await settle(srv)
    const s3 = await settle(srv)
    const closed = await W.all('idle-close')
    const both = [...first, ...rest]
    const opened = both.reduce((a, r) => a + r.opened, 0)
    const failed = both.reduce((a, r) => a + r.failed, 0)
    const alive = closed.reduce((a, r) => a + r.aliveBeforeClose, 0)
    const problems = []
    if (failed) problems.push(`${failed} connections failed to join (first: ${both.find((r) => r.firstError).firstError})`)
    if (alive !== opened) problems.push(`${opened - alive} of ${opened} connections were closed by the server while idle`)
    const added = rest.reduce((a, r) => a + r.opened, 0)
    return {
      kind,
      connections: opened,
      rooms: nrooms,
      joinPerSec: added / (openMs / 1000),
      rssStartKiB: s0.rssKiB,
      rssRoomsKiB: s1.rssKiB,
      rssAllKiB: s3.rssKiB,
      bytesPerConn: ((s3.rssKiB - s1.rssKiB) * 1024) / added,
      anonBytesPerConn: ((s3.anonKiB - s1.anonKiB) * 1024) / added,
      rssDriftKiB: s3.rssKiB - s2.rssKiB,
      serverCpuSec: s3.cpuSec - s1.cpuSec,
      problems,
      ok: problems.length === 0
    }
  } finally {
    await srv.stop()
  }
}

async function phaseRoomMem (W, kind, snap) {
  const nrooms = CFG.roomMem.rooms
  const rooms = Array.from({ length: nrooms }, (_, i) => `doc-${i}`)
  const srv = await startServer(kind, { dataParent: DATA_PARENT })
  try {
    const n = W.procs.length
    const s0 = await settle(srv, 500)
    await W.all('rooms-open', (i) => ({ kind, wsBase: srv.wsBase, rooms: share(rooms, i, n) }))
    const s1 = await settle(srv)
    const load = await W.all('rooms-load', (i) => ({ kind, snapshot: snap.bin }), 180000)
    const s2 = await settle(srv)
    const s3 = await settle(srv)
    const check = await W.all('rooms-check', () => ({ kind, wsBase: srv.wsBase, expectText: snap.txt }), 180000)
    await W.all('rooms-close')
    const ok = check.reduce((a, r) => a + r.ok, 0)
    const problems = []
    if (ok !== nrooms) problems.push(`${nrooms - ok} of ${nrooms} rooms do not hold the document (${check.flatMap((r) => r.bad).join(', ')})`)
    const lc = check.reduce((a, r) => a + r.loadersClosed, 0)
    if (lc) problems.push(`${lc} loader connections were closed by the server`)
    return {
      kind,
      rooms: nrooms,
      docBytes: snap.bytes,
      loadMs: Math.max(...load.map((r) => r.ms)),
      rssStartKiB: s0.rssKiB,
      rssEmptyRoomsKiB: s1.rssKiB,
      rssLoadedKiB: s3.rssKiB,
      bytesPerEmptyRoom: ((s1.rssKiB - s0.rssKiB) * 1024) / nrooms,
      bytesPerLoadedDoc: ((s3.rssKiB - s1.rssKiB) * 1024) / nrooms,
      anonBytesPerLoadedDoc: ((s3.anonKiB - s1.anonKiB) * 1024) / nrooms,
      rssDriftKiB: s3.rssKiB - s2.rssKiB,
      peakRssKiB: s3.hwmKiB,
      problems,
      ok: problems.length === 0
    }
  } finally {
    await srv.stop()
  }
}

/**
 * quire's own histogram of update latency (quire_update_latency_seconds:
 * arrival to relay, the durable commit in between) as [[bound s, cumulative
 * count], ...]; null for the peers, which have none.
 */
async function serverHistogram (srv) {
  if (!srv.kind.startsWith('quire')) return null
  const res = await fetch(`http://127.0.0.1:${srv.port}/metrics`, { signal: AbortSignal.timeout(5000) })
  const out = []
  for (const line of (await res.text()).split('\n')) {
    const m = line.match(/^quire_update_latency_seconds_bucket\{le="([^"]+)"\} (\d+)$/)
    if (m) out.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])])
  }
  return out
}

/** Upper bounds of the p50 and p99 (µs) of what a histogram counted between two reads. */
function histogramQuantiles (h0, h1) {
  if (!h0 || !h1 || h0.length !== h1.length || !h1.length) return null
  const d = h1.map(([le, c], i) => [le, c - h0[i][1]])
  const n = d[d.length - 1][1]
  if (!n) return null
  const at = (q) => { const b = d.find(([, c]) => c >= q * n); return b[0] === Infinity ? null : b[0] * 1e6 }
  return { count: n, p50LeUs: at(0.5), p99LeUs: at(0.99) }
}

/**
 * One fan-out level against one running server: set up the rooms (joins and
 * pre-generated updates, untimed), run the timed phase in every worker at once,
 * drain, check. CPU of the server, of the clients and of everything else on the
 * machine is read over the timed window.
 */
async function runLevel (W, srv, label, level, li) {
  const F = CFG.fanout
  const kind = srv.kind
  const rooms = Array.from({ length: level.rooms }, (_, r) => `fan-${level.name}-${r}`)
  const n = W.procs.length
  const durS = F.durationMs / 1000
  const perWriter = level.mode === 'rate'
    ? Math.ceil((level.rate / (level.rooms * level.writers)) * durS * 1.05) + 20
    : level.perWriter
  const setup = await W.all('fanout-setup', (i) => ({
    kind,
    wsBase: srv.wsBase,
    rooms: share(rooms, i, n),
    members: level.members,
    writers: level.writers,
    perWriter,
    mode: level.mode,
    window: level.window || 0,
    durationMs: F.durationMs,
    drainMs: F.drainMs,
    seed: 1000 * li + i + 1
  }), 180000)
  const ours = new Set([process.pid, srv.pid, ...W.procs.map((p) => p.pid)])
  const backgroundPct = await waitQuiet(WAIT_QUIET_MS, ours)
  const sh0 = await serverHistogram(srv)
  // The server's CPU, and the machine's, are read at the end of the timed
  // window (not after the drain and the checks).
  const c0 = procStats(srv.pid)
  const m0 = machineCpu()
  const t0 = tasksCpu()
  const me0 = process.cpuUsage()
  let c1 = null, m1 = null, me1 = null, t1 = null
  const sample = () => { c1 = procStats(srv.pid); m1 = machineCpu(); t1 = tasksCpu(); me1 = process.cpuUsage(me0) }
  const timer = setTimeout(sample, F.durationMs)
  const res = await W.all('fanout-go', (i) => ({
    rate: level.mode === 'rate' ? level.rate * share(rooms, i, n).length / level.rooms : 0
  }), F.durationMs + F.drainMs + 180000)
  clearTimeout(timer)
  if (!c1) sample() // the workers answered before the timer fired
  const other = otherCpu(t0, t1, ours)
  if (!srv.alive()) throw new Error(`${label} died\n${srv.stderrTail()}`)
  // the whole level (timed window and drain): every update it stored
  const serverLatency = histogramQuantiles(sh0, await serverHistogram(srv))
  const hist = new Histogram()
  for (const r of res) hist.merge(r.hist)
  const sum = (k) => res.reduce((a, r) => a + r[k], 0)
  const problems = res.flatMap((r) => r.problems)
  const deliveredInWindow = sum('deliveredInWindow')
  const drains = res.map((r) => r.drainMs)
  const serverCpu = c1.cpuSec - c0.cpuSec
  const clientCpu = sum('clientCpuSec')
  const busy = m1.busySec - m0.busySec
  const unattributed = Math.max(0, busy - serverCpu - clientCpu - (me1.user + me1.system) / 1e6 - other.userSec - other.kernelSec)
  const o = {
    kind: label,
    level: level.name,
    mode: level.mode,
    targetRate: level.rate || null,
    window: level.window || null,
    rooms: level.rooms,
    members: level.members,
    writers: level.writers,
    offeredFramesPerSec: level.mode === 'rate' ? level.rate * (level.members - 1) : null,
    durationMs: F.durationMs,
    avgUpdateBytes: setup.reduce((a, s) => a + s.avgUpdateBytes, 0) / setup.length,
    sent: sum('sent'),
    sentPerSec: sum('sent') / durS,
    expectedFrames: sum('expectedFrames'),
    delivered: sum('delivered'),
    framesPerSec: deliveredInWindow / durS,
    echo: sum('echo'),
    statusAcks: sum('statusAcks'),
    drainMs: drains.includes(null) ? null : Math.max(...drains),
    latency: hist.summary(),
    serverLatency,
    serverCpuSec: serverCpu,
    serverCpuPct: (100 * serverCpu) / durS,
    framesPerServerCpuSec: serverCpu > 0 ? deliveredInWindow / serverCpu : null,
    clientCpuPct: (100 * clientCpu) / durS,
    coordinatorCpuPct: (100 * (me1.user + me1.system) / 1e6) / durS,
    machineBusyPct: (100 * busy) / durS,
    // other user-space processes (not the server, not the load generator)
    foreignCpuPct: (100 * other.userSec) / durS,
    // kernel threads (ksoftirqd, kworkers): mostly this benchmark's own loopback traffic
    kernelThreadsCpuPct: (100 * other.kernelSec) / durS,
    // busy time no task was charged with (interrupts on an idle CPU, rounding)
    unattributedCpuPct: (100 * unattributed) / durS,
    backgroundBeforePct: backgroundPct,
    noisy: (100 * other.userSec) / durS > NOISY_PCT,
    serverRssKiB: c1.rssKiB,
    textsChecked: sum('textsChecked'),
    problems,
    ok: problems.length === 0
  }
  console.log(`  ${label.padEnd(12)} ${o.ok ? '' : 'FAILED '}sent ${fmtInt(o.sentPerSec)} upd/s, ` +
    `delivered ${fmtInt(o.framesPerSec)} frames/s, p50 ${fmtMs(o.latency.p50Us)} ms, p99 ${fmtMs(o.latency.p99Us)} ms, ` +
    (serverLatency ? `server-side p50 ≤ ${fmtMs(serverLatency.p50LeUs)} ms, p99 ≤ ${fmtMs(serverLatency.p99LeUs)} ms, ` : '') +
    `CPU: server ${o.serverCpuPct.toFixed(0)}%, clients ${o.clientCpuPct.toFixed(0)}%, kernel threads ${o.kernelThreadsCpuPct.toFixed(0)}%, other processes ${o.foreignCpuPct.toFixed(0)}%` +
    (o.ok ? '' : `\n      ${problems.slice(0, 4).join('\n      ')}`))
  return o
}

/**
 * The fan-out levels, with every server variant running side by side (idle
 * ones cost nothing) and taking turns within each level, in a rotating order,
 * so slow drifts of the machine (other load, thermal) spread over all of them.
 */
async function phaseFanout (W, variants, results) {
  const servers = []
  try {
    for (const v of variants) {
      try {
        servers.push({ v, srv: await startServer(v.kind, { dataParent: v.dataParent }) })
      } catch (e) {
        console.log(`  ${v.label}: ERROR ${e.message}`)
        results[v.label].fanoutError = String(e.stack || e)
      }
    }
    for (const [li, level] of CFG.fanout.levels.entries()) {
      const what = level.mode === 'rate'
        ? `${fmtInt(level.rate)} updates/s into ${level.rooms} rooms × ${level.members} members (${level.writers} writers each)`
        : `capacity: ${level.window} updates in flight per room, ${level.rooms} rooms × ${level.members} members (${level.writers} writers each)`
      console.log(`fan-out ${level.name}: ${what}, ${CFG.fanout.durationMs / 1000} s`)
      const order = servers.map((_, i) => servers[(i + li) % servers.length])
      for (const { v, srv } of order) {
        try {
          if (!srv.alive()) throw new Error(`${v.label} is not running\n${srv.stderrTail()}`)
          results[v.label].fanout.push(await runLevel(W, srv, v.label, level, li))
        } catch (e) {
          console.log(`  ${v.label}: ERROR ${e.message}`)
          results[v.label].fanout.push({ kind: v.label, level: level.name, ok: false, problems: [String(e.message)] })
        }
        await sleep(500)
      }
    }
  } finally {
    for (const { srv } of servers) await srv.stop()
  }
}

// ---------------------------------------------------------------------------
// Report

function machine () {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8')
  const model = (/^model name\s*:\s*(.*)$/m.exec(cpuinfo) || [])[1] || 'unknown'
  return {
    nproc: os.cpus().length,
    cpuModel: model,
    memTotalMiB: Math.round(os.totalmem() / 1048576),
    kernel: os.release(),
    node: process.version
  }
}

function table (results) {
  const peers = SERVERS.filter((k) => k !== 'quire')
  const quires = Object.keys(results).filter((k) => k.startsWith('quire'))
  const titles = { quire: 'quire', 'quire-tmpfs': 'quire, LMDB on tmpfs' }
  const header = ['metric', ...quires.map((k) => titles[k]), ...peers.flatMap((k) => [k, `${k} / quire`])]
  // the value columns, left to right: null for a ratio column
  const cols = [...quires, ...peers.flatMap((k) => [k, null])]
  const rows = []
  const cell = (r, f) => (!r ? '–' : r.ok ? f(r) : 'FAILED')
  const ratio = (q, p, f) => {
    if (!q || !p || !q.ok || !p.ok) return '–'
    const a = f(q), b = f(p)
    if (!a || b == null) return '–'
    const x = b / a
    return `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`
  }
  const add = (label, pick, value, show, withRatio = true) => {
    const q = pick('quire')
    const row = [label]
    for (const k of quires) row.push(cell(pick(k), (rr) => show(value(rr))))
    for (const k of peers) {
      const r = pick(k)
      row.push(cell(r, (rr) => show(value(rr))))
      row.push(withRatio ? ratio(q, r, value) : '')
    }
    rows.push(row)
  }
  for (const level of CFG.fanout.levels) {
    const pick = (k) => (results[k]?.fanout || []).find((r) => r.level === level.name)
    const what = level.mode === 'rate'
      ? `${fmtInt(level.rate)} upd/s into ${level.rooms} rooms × ${level.members} (${fmtInt(level.rate * (level.members - 1))} frames/s offered)`
      : `capacity: ${level.window} in flight per room, ${level.rooms} rooms × ${level.members}`
    add(`**fan-out, ${what}**: delivered frames/s`, pick, (r) => r.framesPerSec, fmtInt)
    const first = rows[rows.length - 1]
    cols.forEach((k, i) => {
      const r = k && pick(k)
      if (r && r.ok && r.noisy) first[i + 1] += ' †'
    })
    add('  latency p50 (ms)', pick, (r) => r.latency.p50Us, fmtMs)
    add('  latency p99 (ms)', pick, (r) => r.latency.p99Us, fmtMs)
    add('  server-side p50 / p99 upper bound (ms; quire\'s histogram, arrival to relay)', pick,
      (r) => r.serverLatency?.p99LeUs, (x) => x == null ? '–' : fmtMs(x), false)
    const sl = rows[rows.length - 1]
    cols.forEach((k, i) => {
      const r = k && pick(k)
      if (r && r.ok) sl[i + 1] = r.serverLatency ? `≤ ${fmtMs(r.serverLatency.p50LeUs)} / ≤ ${fmtMs(r.serverLatency.p99LeUs)}` : '–'
    })
    add('  server CPU (% of one core)', pick, (r) => r.serverCpuPct, (x) => x.toFixed(0))
    add('  frames per server CPU-second', pick, (r) => r.framesPerServerCpuSec, fmtInt)
    add('  CPU of clients / of other processes (% of one core)', pick, (r) => r.clientCpuPct,
      (x) => x.toFixed(0), false)
    // the cell above shows clients only; append the other-process share
    const last = rows[rows.length - 1]
    cols.forEach((k, i) => {
      const r = k && pick(k)
      if (r && r.ok) last[i + 1] = `${r.clientCpuPct.toFixed(0)} / ${r.foreignCpuPct.toFixed(0)}`
    })
  }
  const pi = (k) => (k === 'quire-tmpfs' ? null : results[k]?.idle)
  add(`**idle connections** (${CFG.idle.connections} in ${CFG.idle.rooms} rooms): RSS per connection (bytes)`, pi, (r) => r.bytesPerConn, fmtInt)
  add('  server RSS with all of them (MiB)', pi, (r) => r.rssAllKiB / 1024, (x) => x.toFixed(1))
  const pm = (k) => (k === 'quire-tmpfs' ? null : results[k]?.roomMem)
  add(`**room memory** (${CFG.roomMem.rooms} rooms): RSS per ${CFG.roomMem.trace} document (bytes)`, pm, (r) => r.bytesPerLoadedDoc, fmtInt)
  add('  RSS per empty room with one connection (bytes)', pm, (r) => r.bytesPerEmptyRoom, fmtInt)
  add(`  server RSS with ${CFG.roomMem.rooms} documents (MiB)`, pm, (r) => r.rssLoadedKiB / 1024, (x) => x.toFixed(1))
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => i === 0 ? '---' : '---:').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`)
  ].join('\n')
}

// ---------------------------------------------------------------------------

async function main () {
  fs.mkdirSync(OUT, { recursive: true })
  const started = new Date()
  const mach = machine()
  const vers = versions()
  console.log(`server benchmark: ${SERVERS.join(', ')}; ${NWORKERS} client processes; ${mach.nproc} CPUs (${mach.cpuModel}); node ${mach.node}${quick ? '; QUICK' : ''}`)
  console.log(`  quire: ${quireBin()}`)
  const snap = traceSnapshot(CFG.roomMem.trace)
  const W = new Workers(NWORKERS)
  const results = {}
  try {
    await W.all('ping')
    const variants = SERVERS.map((k) => ({ label: k, kind: k, dataParent: DATA_PARENT }))
    if (WITH_TMPFS) variants.splice(1, 0, { label: 'quire-tmpfs', kind: 'quire', dataParent: TMPFS })
    for (const v of variants) results[v.label] = { fanout: [], dataParent: v.kind === 'quire' ? v.dataParent : null }
    for (const kind of argv.includes('--no-memory') ? [] : SERVERS) {
      console.log(`${kind}:`)
      for (const [name, fn] of [['idle', () => phaseIdle(W, kind)], ['roomMem', () => phaseRoomMem(W, kind, snap)]]) {
        try {
          results[kind][name] = await fn()
        } catch (e) {
          console.log(`  ${name}: ERROR ${e.message}`)
          results[kind][name] = { kind, ok: false, problems: [String(e.message)] }
          results[kind][`${name}Error`] = String(e.stack || e)
          continue
        }
        const r = results[kind][name]
        if (name === 'idle') {
          console.log(`  idle: ${r.ok ? '' : 'FAILED '}${r.connections} conns, ${fmtInt(r.bytesPerConn)} B RSS each (anon ${fmtInt(r.anonBytesPerConn)}), RSS ${(r.rssAllKiB / 1024).toFixed(1)} MiB` +
            (r.ok ? '' : `: ${r.problems.join('; ')}`))
        } else {
          console.log(`  rooms: ${r.ok ? '' : 'FAILED '}${r.rooms} × ${fmtInt(r.docBytes)} B doc, ${fmtInt(r.bytesPerLoadedDoc)} B RSS per doc, ${fmtInt(r.bytesPerEmptyRoom)} B per empty room, RSS ${(r.rssLoadedKiB / 1024).toFixed(1)} MiB` +
            (r.ok ? '' : `: ${r.problems.join('; ')}`))
        }
      }
    }
    await phaseFanout(W, variants, results)
  } finally {
    W.stop()
  }
  const md = table(results)
  const doc = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine: mach,
    versions: vers,
    // QUIRE_BENCH_COMMIT: the commit QUIRE_BIN was built from, when it is not this checkout's HEAD
    quire: { bin: quireBin(), commit: process.env.QUIRE_BENCH_COMMIT || gitHead(), repoHead: gitHead() },
    config: CFG,
    workers: NWORKERS,
    quick,
    results,
    table: md
  }
  const stamp = started.toISOString().replace(/[:.]/g, '-')
  const file = path.join(OUT, `server-${stamp}.json`)
  fs.writeFileSync(file, JSON.stringify(doc, null, 1))
  fs.writeFileSync(path.join(OUT, 'server-latest.md'), md + '\n\n' +
    `Ratios are peer / quire. † marks a fan-out run during which other processes used more than ${NOISY_PCT}% of a core.\n`)
  console.log('\n' + md + '\n')
  console.log(`ratios are peer / quire: above 1× means the peer delivers more (frames/s) or needs more (latency, CPU, memory)`)
  const noisy = Object.values(results).flatMap((r) => r.fanout).filter((f) => f.noisy)
  if (noisy.length) {
    console.log(`† ${noisy.length} fan-out runs shared the CPUs with other processes (over ${NOISY_PCT}% of a core): ` +
      noisy.map((f) => `${f.kind} ${f.level} ${f.foreignCpuPct.toFixed(0)}%`).join(', ') + '; their figures are not comparable')
  }
  console.log(`results: ${path.relative(process.cwd(), file)}`)
  const failed = Object.entries(results).some(([label, r]) =>
    (label !== 'quire-tmpfs' && !argv.includes('--no-memory') && (!r.idle?.ok || !r.roomMem?.ok)) || r.fanout.length !== CFG.fanout.levels.length || r.fanout.some((f) => !f.ok))
  if (failed) { console.log('some phases FAILED (see above)'); process.exitCode = 1 }
}

function gitHead () {
  try {
    const head = fs.readFileSync(path.join(repo, '.git/HEAD'), 'utf8').trim()
    if (!head.startsWith('ref: ')) return head
    const ref = head.slice(5)
    const f = path.join(repo, '.git', ref)
    if (fs.existsSync(f)) return fs.readFileSync(f, 'utf8').trim()
    const packed = fs.readFileSync(path.join(repo, '.git/packed-refs'), 'utf8')
    return (new RegExp(`^([0-9a-f]{40}) ${ref}$`, 'm').exec(packed) || [])[1] || null
  } catch { return null }
}

main().catch((e) => { console.error(e); process.exit(1) })
