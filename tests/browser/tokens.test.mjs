// Tokens in the browser: a good token opens the document under the token's
// name; a bad, expired, wrong-document or missing token shows a clear message
// instead of an empty editor, and the page stops hammering the server.
//
// Keys and tokens come from `quire keygen` / `quire token`. If this quire build
// says those are "not implemented", every test here is skipped with that
// message (any other failure of theirs is a test failure).

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { startServer, makeTempDir, quire, sleep, WEB_DIR } from './lib/server.mjs'
import { launch, person, waitState, waitText, text, typeAtEnd, OUT_DIR } from './lib/browser.mjs'

const tmp = makeTempDir('quire-browser-keys-')
let skip = false
let server
let browser
const keys = {}

function keygen (name) {
  const out = path.join(tmp, name)
  const r = quire(['keygen', '--out', out])
  if (r.code !== 0 && /not implemented/i.test(r.stderr)) {
    skip = `quire keygen is not implemented in this build: ${r.stderr.trim()}`
    return null
  }
  assert.equal(r.code, 0, `quire keygen --out ${out} failed: ${r.stderr}`)
  return { secret: out, pub: out + '.pub' }
}

function token (key, doc, { ttl = 600, sub, scope } = {}) {
  const args = ['token', '--key', key.secret, '--doc', doc, '--ttl', String(ttl)]
  if (sub) args.push('--sub', sub)
  if (scope) args.push('--scope', scope)
  const r = quire(args)
  assert.equal(r.code, 0, `quire ${args.join(' ')} failed: ${r.stderr}`)
  const t = r.stdout.trim()
  assert.match(t, /^v4\.public\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)?$/)
  return t
}

before(async () => {
  keys.main = keygen('main')
  if (skip) return
  keys.stranger = keygen('stranger')
  server = await startServer({ anonymous: false, args: ['--token-pubkey', keys.main.pub] })
  browser = await launch()
})

after(async () => {
  if (browser) await browser.close()
  if (server) await server.stop()
  fs.rmSync(tmp, { recursive: true, force: true })
})

const url = (doc, tok, extra = '') => `${server.url}/?doc=${doc}${extra}${tok ? '#token=' + encodeURIComponent(tok) : ''}`

/** Open a page that should be refused; check the message and that retries stop. */
async function expectRefusal (t, tok, doc, reason, titleRe) {
  const p = await person(browser, { name: 'Someone' })
  await p.page.goto(url(doc, tok))
  await waitState(p.page, 'refused')
  const card = p.page.locator('[data-testid=refusal]')
  await card.waitFor({ state: 'visible' })
  assert.equal(await card.getAttribute('data-reason'), reason)
  assert.match(await card.locator('h2').textContent(), titleRe)
  // a message instead of an empty editor
  assert.equal(await p.page.isVisible('[data-testid=editor]'), false)
  assert.match(await p.page.textContent('[data-testid=status]'), /No access/)
  // and it stops trying: no more WebSocket attempts for this document
  const attempts = () => server.stderr.split('\n').filter((l) => l.includes('refused WebSocket for ' + doc)).length
  const n = attempts()
  await sleep(2500)
  assert.equal(attempts(), n, 'no reconnect attempts after a final refusal')
  assert.equal(await p.page.getAttribute('[data-testid=status]', 'data-state'), 'refused')
  fs.mkdirSync(OUT_DIR, { recursive: true })
  await p.page.screenshot({ path: path.join(OUT_DIR, `refused-${reason}.png`) })
  await p.context.close()
}

test('a valid token opens the document under the token\'s name', async (t) => {
  if (skip) return t.skip(skip)
  const doc = 'secure/plan'
  const alice = await person(browser) // no stored name: it must come from the token
  const bob = await person(browser)
  const ta = token(keys.main, doc, { sub: 'Alice Adams' })
  const tb = token(keys.main, 'secure/*', { sub: 'Bob Brown' }) // a prefix grant
  await alice.page.goto(url(doc, ta))
  await bob.page.goto(url(doc, tb))
  await waitState(alice.page, 'live')
  await waitState(bob.page, 'live')
  assert.equal(await alice.page.isHidden('[data-testid=ask-name]'), true, 'not asked for a name')
  await typeAtEnd(alice.page, 'Token-protected text.')
  await waitText(bob.page, (s) => s === 'Token-protected text.')
  await typeAtEnd(bob.page, ' Bob agrees.')
  await alice.page.locator('.cm-ySelectionInfo', { hasText: 'Bob Brown' }).waitFor()
  await bob.page.locator('.cm-ySelectionInfo', { hasText: 'Alice Adams' }).waitFor()
  await alice.page.locator('[data-testid=people] .face[data-me="1"][data-name="Alice Adams"]').waitFor()
  // the token never reaches the server in a request line or a log
  assert.ok(!server.stderr.includes(ta) && !server.stderr.includes(tb), 'token in the server log')
  await alice.context.close()
  await bob.context.close()
})

test('an expired token shows "expired", not an empty editor', async (t) => {
  if (skip) return t.skip(skip)
  const tok = token(keys.main, 'secure/expired', { ttl: 1, sub: 'Late Larry' })
  await sleep(2200)
  await expectRefusal(t, tok, 'secure/expired', 'expired', /expired/i)
})

test('a token that expires mid-session: the text stays on screen and the page says why', async (t) => {
  if (skip) return t.skip(skip)
  const doc = 'secure/short'
  const p = await person(browser)
  await p.page.goto(url(doc, token(keys.main, doc, { ttl: 4, sub: 'Brief Bea' })))
  await waitState(p.page, 'live')
  await typeAtEnd(p.page, 'Written in time.')
  await waitState(p.page, 'refused', 15000) // quire closes with 4401 when exp passes
  const banner = p.page.locator('[data-testid=banner]')
  await banner.waitFor({ state: 'visible' })
  assert.match(await banner.textContent(), /expired/i)
  assert.equal(await p.page.isVisible('.cm-content'), true, 'the document stays visible')
  assert.equal(await text(p.page), 'Written in time.')
  // and what was typed in time was stored
  const q = await person(browser)
  await q.page.goto(url(doc, token(keys.main, doc)))
  await waitText(q.page, (s) => s === 'Written in time.')
  await p.context.close()
  await q.context.close()
})

test('a damaged token or one signed by an unknown key shows "not valid"', async (t) => {
  if (skip) return t.skip(skip)
  await expectRefusal(t, 'v4.public.bm90IGEgdG9rZW4', 'secure/bad', 'invalid', /not valid/i)
  await expectRefusal(t, token(keys.stranger, 'secure/bad2'), 'secure/bad2', 'invalid', /not valid/i)
})

test('a token for another document says so', async (t) => {
  if (skip) return t.skip(skip)
  await expectRefusal(t, token(keys.main, 'other-doc'), 'secure/mine', 'other-doc', /another document/i)
})

test('no token at all asks for one', async (t) => {
  if (skip) return t.skip(skip)
  await expectRefusal(t, null, 'secure/none', 'missing', /needs an access token/i)
})

test('a read-only token shows the document but does not let you edit', async (t) => {
  if (skip) return t.skip(skip)
  const doc = 'secure/ro'
  const writer = await person(browser)
  const reader = await person(browser)
  await writer.page.goto(url(doc, token(keys.main, doc, { sub: 'Writer' })))
  await waitState(writer.page, 'live')
  await typeAtEnd(writer.page, 'Read me.')
  await reader.page.goto(url(doc, token(keys.main, doc, { sub: 'Reader', scope: 'ro' })))
  await waitState(reader.page, 'live')
  await waitText(reader.page, (s) => s === 'Read me.')
  await reader.page.locator('[data-testid=readonly]').waitFor({ state: 'visible' })
  await reader.page.locator('.cm-content').click()
  await reader.page.keyboard.type('nope')
  await sleep(300)
  assert.equal(await text(reader.page), 'Read me.')
  assert.equal(await text(writer.page), 'Read me.')
  await writer.context.close()
  await reader.context.close()
})

test('embedded in a wiki page: an expired token is reported to the host, which hands over a fresh one', async (t) => {
  if (skip) return t.skip(skip)
  const doc = 'wiki/page-1'
  const expired = token(keys.main, doc, { ttl: 1, sub: 'Wiki User' })
  await sleep(2200)
  const fresh = token(keys.main, doc, { ttl: 600, sub: 'Wiki User' })
  const host = await person(browser, { viewport: { width: 900, height: 620 } })
  // The snippet from docs/embedding.md, with the host's message handler.
  await host.page.setContent(`<!doctype html><body style="font-family:sans-serif;margin:24px">
    <h1 style="font-size:20px">Wiki: Page 1</h1>
    <iframe id="quire" title="Shared notes" src="${url(doc, expired, '&embed=1')}"
            style="width:100%;height:420px;border:1px solid #ccc;border-radius:6px"
            allow="clipboard-write"></iframe>
    <script>
      window.seen = []
      window.addEventListener('message', (e) => {
        if (!e.data || e.data.source !== 'quire') return
        window.seen.push(e.data.type + ':' + (e.data.reason || e.data.state || ''))
        if (e.data.type === 'refused' && e.data.reason === 'expired') {
          document.getElementById('quire').contentWindow.postMessage({ type: 'quire:token', token: ${JSON.stringify(fresh)} }, '*')
        }
      })
    </script></body>`)
  const frame = host.page.frameLocator('#quire')
  await frame.locator('[data-testid=status][data-state=live]').waitFor({ timeout: 20000 })
  const seen = await host.page.evaluate(() => window.seen)
  assert.ok(seen.includes('refused:expired'), `host saw ${seen}`)
  assert.ok(seen.includes('status:live'), `host saw ${seen}`)
  await frame.locator('.cm-content').click()
  await host.page.keyboard.type('Edited from inside the wiki.')
  const reader = await person(browser)
  await reader.page.goto(url(doc, fresh))
  await waitText(reader.page, (s) => s === 'Edited from inside the wiki.')
  fs.mkdirSync(OUT_DIR, { recursive: true })
  await host.page.screenshot({ path: path.join(OUT_DIR, 'embedded.png') })
  await host.context.close()
  await reader.context.close()
})

test('quire serve --dev: its one token for everybody carries no name, so each person is asked for one', async (t) => {
  if (skip) return t.skip(skip)
  const dataDir = makeTempDir('quire-browser-dev-')
  let dev
  const pages = []
  try {
    // --dev prints the editor link on stdout, which startServer does not keep:
    // a first run prints it (stopped by the timeout's SIGTERM); the second
    // reuses the key in the data dir, so that link works there.
    const first = quire(['serve', '--dev', '--listen', '127.0.0.1:0', '--data', dataDir, '--web', WEB_DIR], { timeoutMs: 3000 })
    const m = /editor: http:\/\/\S+\/\?doc=welcome#token=(v4\.public\.\S+)/.exec(first.stdout)
    assert.ok(m, `the editor link on stdout: ${first.stdout} ${first.stderr}`)
    dev = await startServer({ dataDir, anonymous: false, args: ['--dev'] })
    const link = `${dev.url}/?doc=dev-names#token=${m[1]}`
    for (let i = 0; i < 2; i++) {
      const p = await person(browser) // no stored name
      pages.push(p)
      await p.page.goto(link)
      await waitState(p.page, 'live')
      await p.page.locator('[data-testid=ask-name]').waitFor({ state: 'visible' })
      const me = await p.page.getAttribute('[data-testid=people] .face[data-me="1"]', 'data-name')
      assert.match(me, /^Guest \d{3}$/, 'a guest name until one is given, not the token\'s')
    }
    await pages[0].page.fill('[data-testid=name-input]', 'Dora Dev')
    await pages[0].page.keyboard.press('Enter')
    await pages[0].page.locator('[data-testid=ask-name]').waitFor({ state: 'hidden' })
    await pages[1].page.locator('[data-testid=people] .face[data-me="0"][data-name="Dora Dev"]').waitFor()
  } finally {
    for (const p of pages) await p.context.close()
    if (dev) await dev.stop()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
})

test('a token revoked mid-session (--revocations): the text stays, the banner says "revoked", and opening the link again shows why', async (t) => {
  if (skip) return t.skip(skip)
  const file = path.join(tmp, 'revocations')
  fs.writeFileSync(file, '')
  const own = await startServer({ anonymous: false, args: ['--token-pubkey', keys.main.pub, '--revocations', file] })
  try {
    const doc = 'secure/revoked'
    const tok = token(keys.main, doc, { sub: 'Former Fred' })
    const jti = JSON.parse(Buffer.from(tok.split('.')[2], 'base64url').subarray(0, -64).toString()).jti
    const link = `${own.url}/?doc=${doc}#token=${encodeURIComponent(tok)}`
    const p = await person(browser)
    await p.page.goto(link)
    await waitState(p.page, 'live')
    await typeAtEnd(p.page, 'Before the revocation.')
    await sleep(300)
    fs.writeFileSync(file, `jti ${jti}\n`)
    await waitState(p.page, 'refused', 10000) // quire closes with 4403 within a second
    const banner = p.page.locator('[data-testid=banner]')
    await banner.waitFor({ state: 'visible' })
    assert.match(await banner.textContent(), /revoked/i)
    assert.equal(await text(p.page), 'Before the revocation.', 'the document stays visible')
    await p.context.close()
    // the same link again: refused with the reason
    const q = await person(browser)
    await q.page.goto(link)
    await waitState(q.page, 'refused')
    const card = q.page.locator('[data-testid=refusal]')
    await card.waitFor({ state: 'visible' })
    assert.equal(await card.getAttribute('data-reason'), 'revoked')
    assert.match(await card.locator('h2').textContent(), /revoked/i)
    await q.context.close()
  } finally {
    await own.stop()
  }
})
