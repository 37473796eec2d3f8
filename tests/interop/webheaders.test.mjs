// The editor's HTTP headers (docs/operations.md, "The editor's HTTP headers"):
// every response under / carries a Content-Security-Policy (with
// frame-ancestors from --frame-ancestors), X-Content-Type-Options: nosniff and
// Referrer-Policy: no-referrer; content-hashed assets are cached for a year as
// immutable, index.html and files without a hash are revalidated (no-cache),
// errors and the notice page shown without an editor are not stored. The API,
// /metrics and /healthz get nosniff but none of the editor's policy.
//
// The policy is written once, in web-editor/csp.txt (one directive a line);
// CMake builds the server's header from it and the editor's build its <meta>.
// The header must be exactly that policy (plus frame-ancestors when asked for).
//
// --web points at a small temporary directory laid out as the editor's build
// lays out web-editor/dist (index.html, assets/NAME-HASH.js, .js.map, .css);
// the browser tests check the same against the real build, and that the
// header equals the built page's <meta> policy.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { QUIRE_BIN, makeDataDir, startServer } from './lib/server.mjs'
import { connectProvider, destroyAll, rawGet, roomName, waitStored } from './lib/yclient.mjs'

const IMMUTABLE = 'public, max-age=31536000, immutable'
const EDITOR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web-editor')
// web-editor/csp.txt read as CMakeLists.txt and web-editor/build.mjs read it:
// the directives, without blank and # lines, joined with '; '.
const BASE_DIRECTIVES = fs.readFileSync(path.join(EDITOR, 'csp.txt'), 'utf8').split('\n')
  .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
const POLICY = BASE_DIRECTIVES.join('; ')

let web
const INDEX = '<!doctype html><title>fixture</title><script type="module" src="assets/main-AB2CD3EF.js"></script>\n'
const FILES = {
  'index.html': INDEX,
  'assets/main-AB2CD3EF.js': 'console.log("hashed")\n',
  'assets/main-AB2CD3EF.js.map': '{"version":3,"sources":[],"mappings":""}\n',
  'assets/style-QRST4567.css': 'body{margin:0}\n',
  'assets/plain.js': 'console.log("no hash")\n',
  'assets/my-notes.txt': 'lower-case after the dash is no hash\n',
  'robots.txt': 'User-agent: *\n',
  // a directory whose name looks hashed: asked for without its slash, a redirect
  'assets/chunk-WXYZ2345.d/index.html': 'nested\n'
}

before(() => {
  web = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-web-'))
  for (const [name, body] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(web, name)), { recursive: true })
    fs.writeFileSync(path.join(web, name), body)
  }
})

after(() => { fs.rmSync(web, { recursive: true, force: true }) })

/** The CSP header split into directives (name -> value). */
function directives (csp) {
  assert.equal(typeof csp, 'string', 'no Content-Security-Policy header')
  const out = new Map()
  for (const d of csp.split(';').map((s) => s.trim()).filter(Boolean)) {
    const sp = d.indexOf(' ')
    const name = sp < 0 ? d : d.slice(0, sp)
    assert.ok(!out.has(name), `directive ${name} twice in ${csp}`)
    out.set(name, d)
  }
  return out
}

/** The security headers every response under / carries; returns the CSP's directives. */
function assertSecurity (res, what, frameAncestors) {
  const csp = res.headers['content-security-policy']
  assert.equal(csp, frameAncestors === undefined ? POLICY : `${POLICY}; frame-ancestors ${frameAncestors}`,
    `${what}: the header is not web-editor/csp.txt's policy`)
  const d = directives(csp)
  for (const want of BASE_DIRECTIVES) {
    assert.equal(d.get(want.split(' ')[0]), want, `${what}: CSP ${res.headers['content-security-policy']}`)
  }
  if (frameAncestors === undefined) {
    assert.ok(!d.has('frame-ancestors'), `${what}: frame-ancestors without --frame-ancestors`)
    assert.equal(d.size, BASE_DIRECTIVES.length, `${what}: CSP ${res.headers['content-security-policy']}`)
  } else {
    assert.equal(d.get('frame-ancestors'), `frame-ancestors ${frameAncestors}`, what)
  }
  assert.equal(res.headers['x-content-type-options'], 'nosniff', what)
  assert.equal(res.headers['referrer-policy'], 'no-referrer', what)
  assert.equal(res.headers['x-frame-options'], undefined, what)
  return d
}

test('web-editor/csp.txt is the only copy of the policy: index.html takes it from the build', () => {
  assert.ok(BASE_DIRECTIVES.length >= 1, 'no directives in web-editor/csp.txt')
  assert.ok(BASE_DIRECTIVES.some((d) => d.startsWith('script-src ')), `no script-src in ${POLICY}`)
  const html = fs.readFileSync(path.join(EDITOR, 'index.html'), 'utf8')
  const metas = html.match(/<meta http-equiv="Content-Security-Policy"[^>]*>/gi) || []
  assert.deepEqual(metas, ['<meta http-equiv="Content-Security-Policy" content="%CSP%">'],
    'web-editor/index.html must leave the policy to build.mjs (%CSP%), not spell it out')
})

test('index.html and hashed assets: security headers, and caching by content hash', async () => {
  const server = await startServer({ args: ['--web', web] })
  try {
    for (const p of ['/', '/?doc=notes/a&embed=1', '/index.html']) {
      const res = await rawGet(server, p)
      assert.equal(res.status, 200, p)
      assert.equal(res.body, INDEX, p)
      assert.match(res.headers['content-type'], /^text\/html/, p)
      assertSecurity(res, p)
      assert.equal(res.headers['cache-control'], 'no-cache', `${p}: a deploy must be picked up`)
      assert.ok(res.headers.etag, `${p}: no ETag to revalidate with`)
    }
    for (const p of ['/assets/main-AB2CD3EF.js', '/assets/main-AB2CD3EF.js.map', '/assets/style-QRST4567.css']) {
      const res = await rawGet(server, p)
      assert.equal(res.status, 200, p)
      assert.equal(res.body, FILES[p.slice(1)], p)
      assertSecurity(res, p)
      assert.equal(res.headers['cache-control'], IMMUTABLE, p)
    }
    assert.match((await rawGet(server, '/assets/main-AB2CD3EF.js')).headers['content-type'], /javascript/)
    assert.match((await rawGet(server, '/assets/style-QRST4567.css')).headers['content-type'], /^text\/css/)
    // source maps are JSON (h2o's default table has no .map: it was application/octet-stream)
    assert.match((await rawGet(server, '/assets/main-AB2CD3EF.js.map')).headers['content-type'], /^application\/json(;|$)/)
    // no content hash in the name: revalidated like index.html
    for (const p of ['/assets/plain.js', '/assets/my-notes.txt', '/robots.txt']) {
      const res = await rawGet(server, p)
      assert.equal(res.status, 200, p)
      assertSecurity(res, p)
      assert.equal(res.headers['cache-control'], 'no-cache', p)
    }
    // revalidation: 304 keeps the policy
    const index = await rawGet(server, '/')
    const again = await rawGet(server, '/', { 'If-None-Match': index.headers.etag })
    assert.equal(again.status, 304)
    assert.equal(again.headers['cache-control'], 'no-cache')
    assertSecurity(again, '304 of /')
    const asset = await rawGet(server, '/assets/main-AB2CD3EF.js')
    const asset304 = await rawGet(server, '/assets/main-AB2CD3EF.js', { 'If-None-Match': asset.headers.etag })
    assert.equal(asset304.status, 304)
    assert.equal(asset304.headers['cache-control'], IMMUTABLE)
    // errors are never stored, even under a hashed name (a stale index.html
    // during a deploy must not pin a 404 for a year)
    for (const p of ['/assets/gone-ZZZZ2345.js', '/nothing-here', '/assets/']) {
      const res = await rawGet(server, p)
      assert.equal(res.status, 404, p)
      assertSecurity(res, p)
      assert.equal(res.headers['cache-control'], 'no-store', p)
    }
    // a redirect (a directory without its slash) is revalidated, not kept,
    // even where the name looks hashed: only a file found is immutable
    for (const p of ['/assets', '/assets/chunk-WXYZ2345.d']) {
      const redirect = await rawGet(server, p)
      assert.equal(redirect.status, 301, p)
      assert.equal(redirect.headers.location, p + '/')
      assert.equal(redirect.headers['cache-control'], 'no-cache', p)
      assertSecurity(redirect, p)
    }
  } finally {
    await server.stop()
  }
})

test('API, /metrics and /healthz: nosniff, no editor policy, caching unchanged', async () => {
  const server = await startServer({ args: ['--web', web] })
  const doc = roomName('hdr')
  const c = await connectProvider(server, doc)
  try {
    c.doc.getText('t').insert(0, 'hello')
    await waitStored(server, doc, c.doc)
    for (const p of ['/healthz', '/metrics', `/api/docs/${doc}/update`, `/api/docs/${doc}/sv`]) {
      const res = await rawGet(server, p)
      assert.equal(res.status, 200, p)
      assert.equal(res.headers['x-content-type-options'], 'nosniff', p)
      assert.equal(res.headers['cache-control'], 'no-store', p)
      assert.equal(res.headers['content-security-policy'], undefined, p)
      assert.equal(res.headers['referrer-policy'], undefined, p)
    }
    const refused = await rawGet(server, '/api/docs/no-such-doc-here/sv')
    assert.equal(refused.status, 404)
    assert.equal(refused.headers['content-security-policy'], undefined)
  } finally {
    destroyAll(c)
    await server.stop()
  }
})

test('--frame-ancestors (and QUIRE_FRAME_ANCESTORS) is the CSP frame-ancestors directive on every response under /', async () => {
  const server = await startServer({ args: ['--web', web, '--frame-ancestors', "'self'   https://wiki.example.org http://127.0.0.1:*"] })
  const want = "'self' https://wiki.example.org http://127.0.0.1:*" // single spaces
  try {
    for (const p of ['/', '/assets/main-AB2CD3EF.js', '/nothing-here']) {
      assertSecurity(await rawGet(server, p), p, want)
    }
    assert.match(server.stderr, /the editor may be framed by: 'self' https:\/\/wiki\.example\.org http:\/\/127\.0\.0\.1:\* \(--frame-ancestors\)/)
  } finally {
    await server.stop()
  }
  const none = await startServer({ args: ['--web', web], env: { QUIRE_FRAME_ANCESTORS: "'NONE'" } })
  try {
    assertSecurity(await rawGet(none, '/'), 'QUIRE_FRAME_ANCESTORS', "'none'")
  } finally {
    await none.stop()
  }
  const flagWins = await startServer({ args: ['--web', web, '--frame-ancestors', '*'], env: { QUIRE_FRAME_ANCESTORS: "'none'" } })
  try {
    assertSecurity(await rawGet(flagWins, '/'), 'flag over environment', '*')
  } finally {
    await flagWins.stop()
  }
  const any = await startServer({ args: ['--web', web] })
  try {
    assert.match(any.stderr, /the editor may be framed by any page \(no --frame-ancestors\)/)
  } finally {
    await any.stop()
  }
})

test('without a built editor, the notice page at / carries the policy and is not stored', async () => {
  // A copy of the binary two levels down in a temporary directory finds no
  // web-editor/dist next to it, so / is the notice page.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-nobuild-'))
  const bin = path.join(dir, 'a', 'b', 'quire')
  fs.mkdirSync(path.dirname(bin), { recursive: true })
  fs.copyFileSync(QUIRE_BIN, bin)
  fs.chmodSync(bin, 0o755)
  try {
    // lib/server.mjs always runs QUIRE_BIN itself; this copy is started here
    const data = makeDataDir()
    const proc = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', data, '--allow-anonymous',
      '--frame-ancestors', 'https://wiki.example.org'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proc.stderr.setEncoding('utf8')
    const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })))
    const port = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no "listening on" line\n${stderr}`)), 20000)
      proc.stderr.on('data', (d) => {
        stderr += d
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)
        if (m) { clearTimeout(t); resolve(Number(m[1])) }
      })
      exited.then((st) => { clearTimeout(t); reject(new Error(`exited ${JSON.stringify(st)}\n${stderr}`)) })
    })
    const server = { host: '127.0.0.1', port }
    try {
      assert.match(stderr, /web editor not built; \/ shows a notice/)
      const res = await rawGet(server, '/')
      assert.equal(res.status, 200)
      assert.match(res.body, /The web editor is not built/)
      assertSecurity(res, 'notice page', 'https://wiki.example.org')
      assert.equal(res.headers['cache-control'], 'no-store')
      const missing = await rawGet(server, '/assets/main-AB2CD3EF.js')
      assert.equal(missing.status, 404)
      assertSecurity(missing, 'notice 404', 'https://wiki.example.org')
      assert.equal(missing.headers['cache-control'], 'no-store')
    } finally {
      proc.kill('SIGTERM')
      const st = await exited
      assert.deepEqual(st, { code: 0, signal: null }, stderr)
      assert.doesNotMatch(stderr, /AddressSanitizer|LeakSanitizer|runtime error:/)
      fs.rmSync(data, { recursive: true, force: true })
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('--frame-ancestors: bad values stop start-up with exit 2 and say what is wrong; --help lists the flag', () => {
  const data = makeDataDir()
  function run (args, env = {}) {
    return spawnSync(QUIRE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', data, '--allow-anonymous', '--web', web, ...args], {
      encoding: 'utf8', timeout: 10000, env: { ...process.env, ...env }
    })
  }
  try {
    const cases = [
      ['https://a.example,https://b.example', /--frame-ancestors: ',' at byte 18: separate sources with spaces/],
      ["'self'; script-src *", /--frame-ancestors: ';' at byte 7: it would end the frame-ancestors directive/],
      ['https://a.example\r\nSet-Cookie: x=1', /--frame-ancestors: a control character \(0x0d\) at byte 18/],
      ["'self'\thttps://a.example", /--frame-ancestors: a control character \(0x09\) at byte 7/],
      ['"self"', /--frame-ancestors: '"' at byte 1: only the keywords 'self' and 'none' are quoted/],
      ["'unsafe-inline'", /--frame-ancestors: "'unsafe-inline'": only 'self' and 'none' may be quoted/],
      ["'self", /--frame-ancestors: "'self": only 'self' and 'none' may be quoted/],
      ["https://a.example/it's", /--frame-ancestors: "https:\/\/a\.example\/it's": not a source/],
      ["'none' https://a.example", /--frame-ancestors: 'none' must be the only source/],
      ['https://bücher.example', /--frame-ancestors: a non-ASCII byte \(0xc3\) at byte 10; write international domain names in punycode/],
      ['https://a.example:65536', /--frame-ancestors: "https:\/\/a\.example:65536": not a source/],
      ['https://', /--frame-ancestors: "https:\/\/": not a source/],
      ['a\\b', /--frame-ancestors: '\\' at byte 2: not part of any source/],
      ['', /--frame-ancestors: empty; leave the option out to let any page frame the editor, or pass 'none'/],
      ['   ', /--frame-ancestors: empty/]
    ]
    for (const [value, re] of cases) {
      const r = run(['--frame-ancestors', value])
      assert.equal(r.status, 2, `--frame-ancestors ${JSON.stringify(value)}: exit ${r.status}, stderr ${r.stderr}`)
      assert.match(r.stderr, re)
      assert.doesNotMatch(r.stderr, /listening on/)
    }
    const eq = run(['--frame-ancestors=https://a.example;'])
    assert.equal(eq.status, 2)
    assert.match(eq.stderr, /--frame-ancestors: ';' at byte 18/)
    const missing = run(['--frame-ancestors'])
    assert.equal(missing.status, 2)
    assert.match(missing.stderr, /--frame-ancestors needs a value/)
    const env = run([], { QUIRE_FRAME_ANCESTORS: 'https://a.example, https://b.example' })
    assert.equal(env.status, 2, `QUIRE_FRAME_ANCESTORS with a comma: exit ${env.status}`)
    assert.match(env.stderr, /invalid value for QUIRE_FRAME_ANCESTORS: ',' at byte 18/)

    const help = spawnSync(QUIRE_BIN, ['serve', '--help'], { encoding: 'utf8', timeout: 10000 })
    assert.equal(help.status, 0)
    assert.match(help.stdout, /--frame-ancestors SOURCES/)
    assert.match(help.stdout, /QUIRE_FRAME_ANCESTORS/)
  } finally {
    fs.rmSync(data, { recursive: true, force: true })
  }
})
