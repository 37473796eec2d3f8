// Start and stop a real quire server for a browser test.
//
// startServer() runs `quire serve` on 127.0.0.1 (port 0 unless asked: the server
// picks a free port and logs it), a fresh temporary data dir unless one is
// given, and --allow-anonymous unless {anonymous: false}. It waits for the
// "listening on http://HOST:PORT" log line and for GET /healthz == 200. Only
// processes started here are ever signalled, by pid.
//
// QUIRE_BIN selects the binary (default: build/quire at the repository root).
// QUIRE_WEB, if set, is passed as --web (default: the binary's own default,
// which is web-editor/dist next to the build dir).

import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const REPO = path.resolve(here, '..', '..', '..')
export const QUIRE_BIN = process.env.QUIRE_BIN
  ? path.resolve(process.env.QUIRE_BIN)
  : path.join(REPO, 'build', 'quire')
export const WEB_DIR = process.env.QUIRE_WEB
  ? path.resolve(process.env.QUIRE_WEB)
  : path.join(REPO, 'web-editor', 'dist')

const START_TIMEOUT_MS = 20000
const STOP_TIMEOUT_MS = 15000
const running = new Set()

export function makeTempDir (prefix = 'quire-browser-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/**
 * @param {object} [opts]
 * @param {string} [opts.dataDir]   reuse this data dir (restart tests); otherwise a fresh one
 * @param {number} [opts.port]      listen on this port instead of 0
 * @param {boolean} [opts.anonymous] pass --allow-anonymous (default true)
 * @param {string[]} [opts.args]    extra `quire serve` arguments
 */
export async function startServer (opts = {}) {
  if (!fs.existsSync(QUIRE_BIN)) {
    throw new Error(`quire binary not found at ${QUIRE_BIN} (build it, or set QUIRE_BIN)`)
  }
  if (!fs.existsSync(path.join(WEB_DIR, 'index.html'))) {
    throw new Error(`${WEB_DIR}/index.html is missing: run \`npm ci && npm run build\` in web-editor/`)
  }
  const ownDataDir = !opts.dataDir
  const dataDir = opts.dataDir || makeTempDir()
  const args = ['serve', '--listen', `127.0.0.1:${opts.port || 0}`, '--data', dataDir, '--web', WEB_DIR,
    ...(opts.anonymous === false ? [] : ['--allow-anonymous']), ...(opts.args || [])]
  const proc = spawn(QUIRE_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr.setEncoding('utf8')
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })))
  const server = {
    pid: proc.pid,
    dataDir,
    host: '127.0.0.1',
    port: 0,
    get stderr () { return stderr },
    get url () { return `http://${this.host}:${this.port}` },
    alive () { return proc.exitCode === null && proc.signalCode === null },
    /** SIGTERM and wait; throws if it does not exit cleanly. */
    async stop ({ keepData = false } = {}) {
      if (this.alive()) proc.kill('SIGTERM')
      const st = await withTimeout(exited, STOP_TIMEOUT_MS, null)
      running.delete(server)
      if (!st) {
        proc.kill('SIGKILL')
        await exited
        throw new Error(`quire (pid ${proc.pid}) did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${tail(stderr)}`)
      }
      if (ownDataDir && !keepData) fs.rmSync(dataDir, { recursive: true, force: true })
      if (st.code !== 0 || st.signal) {
        throw new Error(`quire exited with code ${st.code} signal ${st.signal} after SIGTERM\n${tail(stderr)}`)
      }
      return st
    }
  }
  running.add(server)
  const listening = new Promise((resolve) => {
    proc.stderr.on('data', (d) => {
      stderr += d
      const m = /listening on http:\/\/([^\s/:]+):(\d+)/.exec(stderr)
      if (m && !server.port) {
        server.port = Number(m[2])
        resolve(true)
      }
    })
  })
  const outcome = await withTimeout(Promise.race([listening, exited.then((st) => ({ died: st }))]),
    START_TIMEOUT_MS, { timeout: true })
  if (outcome !== true) {
    running.delete(server)
    if (outcome.timeout) { proc.kill('SIGKILL'); await exited }
    if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true })
    throw new Error(`quire did not start: ${outcome.timeout ? `no "listening on" line within ${START_TIMEOUT_MS} ms` : `exited ${JSON.stringify(outcome.died)}`}` +
      `\ncommand: ${QUIRE_BIN} ${args.join(' ')}\n${tail(stderr)}`)
  }
  const deadline = Date.now() + START_TIMEOUT_MS
  let last = ''
  while (Date.now() < deadline) {
    if (!server.alive()) throw new Error(`quire died while starting\n${tail(stderr)}`)
    try {
      const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.status === 200) return server
      last = `status ${res.status}`
    } catch (e) {
      last = String(e)
    }
    await sleep(50)
  }
  proc.kill('SIGKILL')
  await exited
  running.delete(server)
  throw new Error(`GET /healthz never returned 200 (last: ${last})\n${tail(stderr)}`)
}

/** Stop every server started here and not yet stopped. */
export async function stopAll () {
  for (const s of [...running]) {
    try { await s.stop() } catch {}
  }
}

process.on('exit', () => {
  for (const s of running) {
    try { process.kill(s.pid, 'SIGKILL') } catch {}
  }
})

/**
 * Run `quire ARGS...` to completion (keygen, token): {code, stdout, stderr}.
 */
export function quire (args, { timeoutMs = 15000 } = {}) {
  const r = spawnSync(QUIRE_BIN, args, { encoding: 'utf8', timeout: timeoutMs })
  return { code: r.status, stdout: r.stdout || '', stderr: r.stderr || '', error: r.error }
}

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
