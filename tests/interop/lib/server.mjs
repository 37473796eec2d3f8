// Start and stop a real quire server for a test.
//
// startServer() runs `quire serve` on 127.0.0.1 with port 0 (the server picks a
// free port and logs it), a fresh temporary data dir and --allow-anonymous, waits
// for its "listening on http://HOST:PORT" log line and for GET /healthz == 200,
// and returns a handle. Only processes started here are ever signalled, by pid.
//
// QUIRE_BIN selects the binary (default: build/quire at the repository root).

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
// An explicit QUIRE_BIN is resolved against the current directory; the default
// is relative to tests/interop.
export const QUIRE_BIN = process.env.QUIRE_BIN
  ? path.resolve(process.env.QUIRE_BIN)
  : path.resolve(here, '..', '../../build/quire')

const START_TIMEOUT_MS = 20000 // sanitizer builds start slower
const STOP_TIMEOUT_MS = 15000
const running = new Set()

// Sanitizer and crash markers that must never appear in a server's stderr.
const BAD_STDERR = [
  /ERROR: AddressSanitizer/,
  /ERROR: LeakSanitizer/,
  /runtime error:/, // UBSan
  /ThreadSanitizer/,
  /Assertion .* failed/
]

export function sanitizerReport (stderr) {
  const hit = BAD_STDERR.find((re) => re.test(stderr))
  return hit ? stderr : null
}

export function makeDataDir () {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'quire-test-'))
}

/**
 * @param {object} [opts]
 * @param {string} [opts.dataDir] reuse this data dir (restart tests); otherwise a fresh one
 * @param {string[]} [opts.args] extra `quire serve` arguments
 * @param {number} [opts.port] listen on this port instead of 0
 * @param {object} [opts.env] extra environment
 * @param {boolean} [opts.anonymous] false: do not pass --allow-anonymous
 */
export async function startServer (opts = {}) {
  if (!fs.existsSync(QUIRE_BIN)) {
    throw new Error(`quire binary not found at ${QUIRE_BIN} (build it, or set QUIRE_BIN)`)
  }
  const ownDataDir = !opts.dataDir
  const dataDir = opts.dataDir || makeDataDir()
  const args = ['serve', '--listen', `127.0.0.1:${opts.port || 0}`, '--data', dataDir,
    ...(opts.anonymous === false ? [] : ['--allow-anonymous']), ...(opts.args || [])]
  const proc = spawn(QUIRE_BIN, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(opts.env || {}) }
  })
  let stderr = ''
  let stdout = ''
  proc.stdout.setEncoding('utf8')
  proc.stderr.setEncoding('utf8')
  proc.stdout.on('data', (d) => { stdout += d })
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }))
  })
  const server = {
    proc,
    pid: proc.pid,
    dataDir,
    args,
    host: '127.0.0.1',
    port: 0,
    exited,
    exitStatus: null,
    get stderr () { return stderr },
    get stdout () { return stdout },
    scheme: 'http', // 'https' with --tls-cert
    get httpUrl () { return `${this.scheme}://${this.host}:${this.port}` },
    get wsUrl () { return `${this.scheme === 'https' ? 'wss' : 'ws'}://${this.host}:${this.port}/ws` },
    /** Stop with SIGTERM; resolves to {code, signal}. Throws if it does not exit
     *  cleanly (code 0) unless {allowFailure: true}, or if a sanitizer spoke. */
    async stop ({ allowFailure = false, keepData = false } = {}) {
      if (this.exitStatus === null && proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM')
      }
      const st = await withTimeout(exited, STOP_TIMEOUT_MS, null)
      running.delete(server)
      if (!st) {
        proc.kill('SIGKILL')
        await exited
        throw new Error(`quire (pid ${proc.pid}) did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n` +
          tail(stderr))
      }
      this.exitStatus = st
      if (ownDataDir && !keepData) fs.rmSync(dataDir, { recursive: true, force: true })
      const report = sanitizerReport(stderr)
      if (report) throw new Error(`sanitizer/crash report in quire stderr:\n${tail(report, 8000)}`)
      if (!allowFailure && (st.code !== 0 || st.signal)) {
        throw new Error(`quire exited with code ${st.code} signal ${st.signal} after SIGTERM ` +
          `(expected 0)\n${tail(stderr)}`)
      }
      return st
    },
    /** SIGKILL, for crash tests. */
    async kill () {
      proc.kill('SIGKILL')
      const st = await exited
      running.delete(server)
      this.exitStatus = st
      return st
    },
    /** Is the process still alive? */
    alive () { return proc.exitCode === null && proc.signalCode === null },
    /** Throw with the stderr tail if the process died. */
    assertAlive () {
      if (!this.alive()) {
        throw new Error(`quire died (code ${proc.exitCode}, signal ${proc.signalCode})\n${tail(stderr)}`)
      }
    }
  }
  running.add(server)

  // Wait for the "listening on http://HOST:PORT" line.
  const listening = new Promise((resolve) => {
    const onData = (d) => {
      stderr += d
      const m = /listening on (https?):\/\/([^\s/:]+|\[[^\]]+\]):(\d+)/.exec(stderr)
      if (m && !server.port) {
        server.scheme = m[1]
        server.host = m[2]
        server.port = Number(m[3])
        resolve(true)
      }
    }
    proc.stderr.on('data', onData)
  })
  const outcome = await withTimeout(Promise.race([
    listening,
    exited.then((st) => ({ died: st }))
  ]), START_TIMEOUT_MS, { timeout: true })
  if (outcome !== true) {
    running.delete(server)
    if (outcome.timeout) { proc.kill('SIGKILL'); await exited }
    if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true })
    throw new Error(`quire did not log "listening on http://HOST:PORT" ` +
      (outcome.died ? `(exited: code ${outcome.died.code}, signal ${outcome.died.signal})`
        : `within ${START_TIMEOUT_MS} ms`) +
      `\ncommand: ${QUIRE_BIN} ${args.join(' ')}\n${tail(stderr)}`)
  }
  // And for /healthz.
  const deadline = Date.now() + START_TIMEOUT_MS
  let last = ''
  while (Date.now() < deadline) {
    server.assertAlive()
    try {
      const res = await fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(2000) })
      const body = await res.text()
      if (res.status === 200) return server
      last = `status ${res.status} body ${JSON.stringify(body)}`
    } catch (e) {
      last = String(e)
    }
    await sleep(50)
  }
  await server.kill()
  throw new Error(`GET /healthz never returned 200 (last: ${last})\n${tail(stderr)}`)
}

/** Stop every server this process started and has not stopped (test cleanup). */
export async function stopAll () {
  const errors = []
  for (const s of [...running]) {
    try { await s.stop() } catch (e) { errors.push(e) }
  }
  if (errors.length) throw errors[0]
}

process.on('exit', () => {
  for (const s of running) {
    try { process.kill(s.pid, 'SIGKILL') } catch {}
  }
})

export function tail (s, n = 4000) {
  return s.length > n ? '…' + s.slice(-n) : s
}

export function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export function withTimeout (promise, ms, value) {
  let t
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((resolve) => { t = setTimeout(() => resolve(value), ms) })
  ])
}
