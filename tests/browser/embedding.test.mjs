// The editor's HTTP headers in a real browser (docs/operations.md, "The
// editor's HTTP headers"): Chromium enforces quire's Content-Security-Policy
// header, and the editor still loads, syncs over its WebSocket and takes
// typing with no policy violation; the built assets are served as immutable and
// the page as no-cache. Framing from another origin follows
// --frame-ancestors: allowed without the flag (the documented embedding) and
// with a list naming the wiki, refused by 'self'.
//
// The "wiki" is a page served from a second loopback origin
// (http://127.0.0.2:PORT) that embeds the editor with the iframe snippet from
// docs/embedding.md; quire listens on 127.0.0.1.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { startServer, sleep } from './lib/server.mjs'
import { launch, person, waitState, waitText, text, typeAtEnd } from './lib/browser.mjs'

const IMMUTABLE = 'public, max-age=31536000, immutable'
const HOST_ADDR = '127.0.0.2'

let browser
let wiki // the embedding site
let wikiPage = '' // what it serves at /wiki
const servers = []

before(async () => {
  wiki = http.createServer((req, res) => {
    res.writeHead(req.url === '/wiki' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(req.url === '/wiki' ? wikiPage : 'not found')
  })
  await new Promise((resolve, reject) => {
    wiki.once('error', reject)
    wiki.listen(0, HOST_ADDR, resolve)
  })
  browser = await launch()
})

after(async () => {
  if (browser) await browser.close()
  if (wiki) await new Promise((resolve) => wiki.close(resolve))
  // stop every server even when one fails to stop cleanly (then report it)
  const errors = []
  for (const s of servers) {
    if (s.alive()) await s.stop().catch((e) => errors.push(e))
  }
  if (errors.length) throw errors[0]
})

const wikiOrigin = () => `http://${HOST_ADDR}:${wiki.address().port}`

async function quire (args = []) {
  const s = await startServer({ args })
  servers.push(s)
  return s
}

/** A person whose frames record every CSP violation in window.__csp. */
async function watched (opts) {
  const p = await person(browser, opts)
  await p.context.addInitScript(() => {
    window.__csp = []
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'}`)
    })
  })
  p.console = []
  p.page.on('console', (m) => p.console.push(m.text()))
  return p
}

const cspErrors = (p) => p.errors.filter((e) => /Content Security Policy/i.test(e))

/**
 * The page's policy is written once (web-editor/csp.txt): the header quire sent
 * for the document in `frame` is exactly the built page's <meta> policy, plus
 * frame-ancestors when quire was started with --frame-ancestors.
 */
async function assertHeaderIsMeta (frame, response, frameAncestors) {
  const meta = await frame.evaluate(() => [...document.querySelectorAll('meta[http-equiv="Content-Security-Policy" i]')].map((m) => m.content))
  assert.equal(meta.length, 1, `<meta> policies: ${JSON.stringify(meta)}`)
  assert.doesNotMatch(meta[0], /%CSP%|frame-ancestors/, 'the build did not fill in the policy')
  const header = (await response.allHeaders())['content-security-policy']
  assert.equal(header, frameAncestors === undefined ? meta[0] : `${meta[0]}; frame-ancestors ${frameAncestors}`,
    'Content-Security-Policy header and <meta> differ')
}

/** The wiki page with the iframe snippet of docs/embedding.md; it records the editor's messages. */
async function openWiki (host, src) {
  wikiPage = `<!doctype html><html><head><title>Wiki: Page 1</title></head>
<body style="font-family:sans-serif;margin:24px">
<h1 style="font-size:20px">Wiki: Page 1</h1>
<iframe id="quire" src="${src}" title="Shared notes: Page 1"
  style="width:100%;height:420px;border:1px solid #d0d7de;border-radius:6px"
  referrerpolicy="no-referrer" allow="clipboard-read; clipboard-write"></iframe>
<script>
  window.seen = []
  window.addEventListener('message', (e) => {
    if (!e.data || e.data.source !== 'quire') return
    window.seen.push(e.data.type + ':' + (e.data.reason || e.data.state || ''))
  })
</script></body></html>`
  await host.page.goto(`${wikiOrigin()}/wiki`)
}

const editorFrame = (host, server) => host.page.frames().find((f) => f.url().startsWith(server.url))

/** The editor embedded in the wiki comes up live, takes typing, and breaks no policy. */
async function assertEmbedWorks (server, doc, frameAncestors) {
  const host = await watched({ viewport: { width: 900, height: 620 } })
  let framed // the response for the editor's page inside the iframe
  host.page.on('response', (r) => { if (r.url().startsWith(`${server.url}/?doc=`)) framed = r })
  await openWiki(host, `${server.url}/?doc=${doc}&embed=1#name=Wiki%20User`)
  const frame = host.page.frameLocator('#quire')
  await frame.locator('[data-testid=status][data-state=live]').waitFor({ timeout: 20000 })
  await host.page.waitForFunction(() => window.seen.includes('status:live'), null, { timeout: 10000 })
  assert.ok((await host.page.evaluate(() => window.seen)).includes('ready:'))
  const inner = editorFrame(host, server)
  assert.ok(inner, `no frame at ${server.url} in ${host.page.frames().map((f) => f.url())}`)
  assert.deepEqual(await inner.evaluate(() => window.__csp), [], 'CSP violations inside the embedded editor')
  assert.ok(framed, 'no response for the framed editor page')
  await assertHeaderIsMeta(inner, framed, frameAncestors)
  await frame.locator('.cm-content').click()
  await host.page.keyboard.type('Typed inside the wiki.', { delay: 5 })
  const reader = await watched()
  await reader.page.goto(`${server.url}/?doc=${doc}#name=Reader`)
  await waitText(reader.page, (s) => s === 'Typed inside the wiki.')
  assert.deepEqual(await inner.evaluate(() => window.__csp), [], 'CSP violations inside the embedded editor')
  assert.deepEqual(cspErrors(host), [])
  await host.context.close()
  await reader.context.close()
}

test('the editor works under its Content-Security-Policy header; hashed assets immutable, the page no-cache', async () => {
  const server = await quire()
  const alice = await watched({ name: 'Alice Adams' })
  const responses = new Map()
  alice.page.on('response', (r) => responses.set(new URL(r.url()).pathname, r))
  await alice.page.goto(`${server.url}/?doc=csp/plain`)
  await waitState(alice.page, 'live') // the WebSocket to the same origin: connect-src 'self'
  // nothing blocked while loading (e.g. CodeMirror's injected styles: without
  // them typed spaces turn into no-break spaces)
  assert.deepEqual(await alice.page.evaluate(() => window.__csp), [], 'CSP violations while loading')
  await typeAtEnd(alice.page, '# Under CSP\n*emphasis* and `code`\n')
  await waitText(alice.page, (s) => s === '# Under CSP\n*emphasis* and `code`\n')

  // the page and its assets as Chromium received them
  const page = responses.get('/')
  assert.ok(page, `no response for / among ${[...responses.keys()]}`)
  const headers = await page.allHeaders()
  assert.match(headers['content-security-policy'], /(^|; )script-src 'self'(;|$)/)
  assert.match(headers['content-security-policy'], /(^|; )connect-src 'self'(;|$)/)
  assert.doesNotMatch(headers['content-security-policy'], /frame-ancestors/)
  assert.equal(headers['x-content-type-options'], 'nosniff')
  assert.equal(headers['referrer-policy'], 'no-referrer')
  assert.equal(headers['cache-control'], 'no-cache')
  await assertHeaderIsMeta(alice.page, page)
  const assets = [...responses.keys()].filter((p) => /^\/assets\/(main|style)-[A-Z0-9]{8}\.(js|css)$/.test(p))
  assert.deepEqual(assets.map((p) => p.split('.').pop()).sort(), ['css', 'js'], `assets loaded: ${[...responses.keys()]}`)
  for (const p of assets) {
    const h = await responses.get(p).allHeaders()
    assert.equal(h['cache-control'], IMMUTABLE, p)
    assert.equal(h['x-content-type-options'], 'nosniff', p)
    // the build's source map next to it (what devtools fetch) is JSON
    const map = await alice.page.request.get(`${server.url}${p}.map`)
    assert.equal(map.status(), 200, `${p}.map`)
    assert.match(map.headers()['content-type'], /^application\/json(;|$)/, `${p}.map`)
    assert.equal(map.headers()['cache-control'], IMMUTABLE, `${p}.map`)
    assert.equal(JSON.parse(await map.text()).version, 3, `${p}.map`)
  }

  // nothing was blocked: no violation event, no console report
  assert.deepEqual(await alice.page.evaluate(() => window.__csp), [])
  assert.deepEqual(cspErrors(alice), [])

  await alice.context.close()
})

test('embedded by a page on another origin without --frame-ancestors (any page may frame it)', async () => {
  const server = await quire()
  await assertEmbedWorks(server, 'wiki/default')
})

test('embedded by a page on another origin that --frame-ancestors names', async () => {
  const server = await quire(['--frame-ancestors', `'self' ${wikiOrigin()}`])
  await assertEmbedWorks(server, 'wiki/listed', `'self' ${wikiOrigin()}`)
})

test("--frame-ancestors 'self': another origin cannot frame the editor; opened directly it works", async () => {
  const server = await quire(['--frame-ancestors', "'self'"])
  const host = await watched({ viewport: { width: 900, height: 620 } })
  await openWiki(host, `${server.url}/?doc=wiki/refused&embed=1#name=Wiki%20User`)
  // Chromium: "Framing 'http://127.0.0.1:PORT/' violates the following Content
  // Security Policy directive: "frame-ancestors 'self'". The request has been blocked."
  const refusal = (m) => m.includes(`'${server.url}/'`) && /frame-ancestors 'self'.*blocked/s.test(m)
  const deadline = Date.now() + 15000
  while (Date.now() < deadline && !host.console.some(refusal)) await sleep(50)
  assert.ok(host.console.some(refusal),
    `no frame-ancestors refusal in the console: ${JSON.stringify(host.console)}`)
  await sleep(1500) // time enough for the editor to start, had it loaded
  assert.deepEqual(await host.page.evaluate(() => window.seen), [], 'the framed editor ran')
  const inner = editorFrame(host, server)
  if (inner) assert.equal(await inner.evaluate(() => typeof window.quire).catch(() => 'blocked'), 'blocked')
  await host.context.close()

  const direct = await watched()
  await direct.page.goto(`${server.url}/?doc=wiki/refused#name=Direct`)
  await waitState(direct.page, 'live')
  await typeAtEnd(direct.page, 'Opened directly.')
  await waitText(direct.page, (s) => s === 'Opened directly.')
  assert.deepEqual(await direct.page.evaluate(() => window.__csp), [])
  assert.deepEqual(cspErrors(direct), [])
  await direct.context.close()
})
