// Start and stop the three servers on 127.0.0.1, and read their memory and CPU
// from /proc. Only processes started here are ever signalled, by pid.
//
//   quire        QUIRE_BIN serve --listen 127.0.0.1:0 (it logs the port it got)
//   y-websocket  the bin of @y/websocket-server (src/server.js), unchanged, on a
//                free port chosen here (it takes PORT/HOST from the environment)
//   hocuspocus   ./hocuspocus-server.mjs: @hocuspocus/server's Server, in memory,
//                port 0, prints the port it got

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const START_TIMEOUT_MS = 20000
const STOP_TIMEOUT_MS = 10000
const CLK_TCK = 100 // Linux USER_HZ, the unit of utime/stime in /proc/PID/stat
const running = new Set()

export const KINDS = ['quire', 'y-websocket', 'hocuspocus']

export function quireBin () {
  return process.env.QUIRE_BIN
    ? path.resolve(process.env.QUIRE_BIN)
    : path.resolve(here, '../../build/quire')
}

function freePort () {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/**
 * Start a server of `kind`. Resolves to a handle
 *   { kind, pid, port, wsBase, dataDir?, stop(), alive(), stderrTail() }.
 */
export async function startServer (kind, { dataParent = os.tmpdir() } = {}) {
  let cmd, args, env, portFrom, dataDir = null
  if (kind === 'quire') {
    const bin = quireBin()
    if (!fs.existsSync(bin)) throw new Error(`quire binary not found at ${bin}`)
    dataDir = fs.mkdtempSync(path.join(dataParent, 'quire-serverbench-'))
    cmd = bin
    // info: the "listening on" line is logged at info; nothing per connection or
    // per message is (that is debug).
    // Every client connects from 127.0.0.1: the idle phase holds 2,000
    // connections and opens them at once (over the per-address defaults of 500
    // connections and 1,200 handshakes a minute), so those limits are off.
    args = ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, '--allow-anonymous', '--log-level', 'info',
      '--max-connections-per-ip', '0', '--connect-rate-per-ip', '0']
    env = { ...process.env }
    portFrom = /listening on http:\/\/127\.0\.0\.1:(\d+)/
  } else if (kind === 'y-websocket') {
    const port = await freePort()
    cmd = process.execPath
    args = [path.join(here, 'node_modules/@y/websocket-server/src/server.js')]
    env = { ...process.env, HOST: '127.0.0.1', PORT: String(port) }
    delete env.YPERSISTENCE // in memory, as the peers are compared
    delete env.CALLBACK_URL
    portFrom = /running at '127\.0\.0\.1' on port (\d+)/
  } else if (kind === 'hocuspocus') {
    cmd = process.execPath
    args = [path.join(here, 'hocuspocus-server.mjs')]
    env = { ...process.env }
    portFrom = /^PORT (\d+)$/m
  } else {
    throw new Error(`unknown server kind ${kind}`)
  }
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: here })
  let out = ''
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })))
  const srv = {
    kind,
    proc,
    pid: proc.pid,
    port: 0,
    dataDir,
    wsBase: '',
    exited,
    alive () { return proc.exitCode === null && proc.signalCode === null },
    stderrTail (n = 3000) { return out.length > n ? '…' + out.slice(-n) : out },
    async stop () {
      running.delete(srv)
      if (srv.alive()) proc.kill('SIGTERM')
      let t
      const st = await Promise.race([exited, new Promise((resolve) => { t = setTimeout(() => resolve(null), STOP_TIMEOUT_MS) })])
      clearTimeout(t)
      if (!st) { proc.kill('SIGKILL'); await exited }
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
      return st
    }
  }
  running.add(srv)
  const got = new Promise((resolve) => {
    const onData = (d) => {
      out += d
      if (out.length > 200000) out = out.slice(-100000)
      const m = portFrom.exec(out)
      if (m && !srv.port) { srv.port = Number(m[1]); resolve(true) }
    }
    proc.stdout.setEncoding('utf8')
    proc.stderr.setEncoding('utf8')
    proc.stdout.on('data', onData)
    proc.stderr.on('data', onData)
  })
  let t
  const outcome = await Promise.race([
    got,
    exited.then((st) => ({ died: st })),
    new Promise((resolve) => { t = setTimeout(() => resolve({ timeout: true }), START_TIMEOUT_MS) })
  ])
  clearTimeout(t)
  if (outcome !== true) {
    await srv.stop()
    throw new Error(`${kind} did not start (${JSON.stringify(outcome)}): ${cmd} ${args.join(' ')}\n${srv.stderrTail()}`)
  }
  const wsPath = kind === 'quire' ? '/ws' : ''
  srv.wsBase = `ws://127.0.0.1:${srv.port}${wsPath}`
  return srv
}

process.on('exit', () => {
  for (const s of running) { try { process.kill(s.pid, 'SIGKILL') } catch {} }
})

/** Memory (KiB) and CPU time (seconds, all threads) of a process, from /proc. */
export function procStats (pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (key) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)
    return m ? Number(m[1]) : null
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name; utime and stime are fields 14, 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  return {
    rssKiB: kib('VmRSS'),
    anonKiB: kib('RssAnon'),
    fileKiB: kib('RssFile'),
    hwmKiB: kib('VmHWM'),
    threads: Number((/^Threads:\s+(\d+)/m.exec(status) || [])[1]),
    cpuSec: (utime + stime) / CLK_TCK,
    userSec: utime / CLK_TCK,
    sysSec: stime / CLK_TCK
  }
}

/** CPU time (seconds) all CPUs spent busy since boot, from /proc/stat. */
export function machineCpu () {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] // "cpu  user nice system idle iowait irq softirq steal ..."
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f
  return { busySec: (user + nice + system + irq + softirq + steal) / CLK_TCK, idleSec: (idle + iowait) / CLK_TCK }
}

/**
 * CPU seconds of every task on the machine, from /proc/PID/stat: per pid
 * { sec (own + reaped children), kernel (a kernel thread: kthreadd or its child) }.
 */
export function tasksCpu () {
  const out = new Map()
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    let stat
    try { stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8') } catch { continue }
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ppid = Number(rest[1])
    const t = Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])
    const pid = Number(name)
    out.set(pid, { sec: t / CLK_TCK, kernel: pid === 2 || ppid === 2 })
  }
  return out
}

/**
 * CPU used between two tasksCpu() snapshots by user-space processes not in
 * `ours`, and by kernel threads (ksoftirqd and kworkers, which also carry
 * network work of the benchmark itself when a CPU is otherwise idle). A process
 * that started in between counts whole; one that ended counts through its
 * parent's reaped-children time.
 */
export function otherCpu (a, b, ours) {
  let user = 0, kernel = 0
  for (const [pid, e] of b) {
    if (ours.has(pid)) continue
    const d = e.sec - (a.get(pid)?.sec ?? 0)
    if (d <= 0) continue
    if (e.kernel) kernel += d; else user += d
  }
  return { userSec: user, kernelSec: kernel }
}

/** Versions of what runs, for the report. */
export function versions () {
  const pkg = (p) => {
    try { return JSON.parse(fs.readFileSync(path.join(here, 'node_modules', p, 'package.json'), 'utf8')).version } catch { return null }
  }
  const nested = (outer, p) => {
    const f = path.join(here, 'node_modules', outer, 'node_modules', p, 'package.json')
    return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')).version : pkg(p)
  }
  return {
    node: process.version,
    '@y/websocket-server': pkg('@y/websocket-server'),
    'ws (used by @y/websocket-server)': nested('@y/websocket-server', 'ws'),
    '@hocuspocus/server': pkg('@hocuspocus/server'),
    'ws (used by @hocuspocus/server)': nested('@hocuspocus/server', 'ws'),
    'ws (load generator)': pkg('ws'),
    yjs: pkg('yjs'),
    'y-protocols': pkg('y-protocols'),
    lib0: pkg('lib0')
  }
}
