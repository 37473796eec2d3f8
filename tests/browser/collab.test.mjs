// Two people, one document: the web editor in chromium against a real quire.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { startServer, sleep } from './lib/server.mjs'
import { launch, person, waitState, waitText, text, typeAtEnd, OUT_DIR } from './lib/browser.mjs'

let server
let browser
const people = []

before(async () => {
  server = await startServer()
  browser = await launch()
})

after(async () => {
  for (const p of people) {
    assert.deepEqual(p.errors, [], 'no page errors or console errors')
  }
  if (browser) await browser.close()
  if (server) await server.stop()
})

async function open (name, doc, opts = {}) {
  const p = await person(browser, { name, ...opts })
  people.push(p)
  await p.page.goto(`${server.url}/?doc=${doc}`)
  await waitState(p.page, 'live')
  return p
}

test('typing in one page appears in the other, and each shows the other\'s cursor label', async () => {
  const doc = 'notes/standup'
  const alice = await open('Alice Adams', doc, { viewport: { width: 760, height: 540 } })
  const bob = await open('Bob Brown', doc, { viewport: { width: 760, height: 540 } })

  await typeAtEnd(alice.page, '# Stand-up, Tuesday\n\nAlice: shipped the **editor**; next: [docs](https://example.org/docs).\n')
  await waitText(bob.page, (t) => t.includes('next: [docs]'), { what: 'Alice\'s text in Bob\'s page' })
  await typeAtEnd(bob.page, 'Bob: reviewing `quire token` and the *embedding* guide.\n> blocked on nothing\n')
  await waitText(alice.page, (t) => t.includes('blocked on nothing'), { what: 'Bob\'s text in Alice\'s page' })
  // select a word in Bob's page so Alice sees a remote selection, not just a caret
  await bob.page.keyboard.press('ArrowUp')
  await bob.page.keyboard.press('Home')
  await bob.page.keyboard.press('Shift+End')
  assert.equal(await text(alice.page), await text(bob.page))

  // What the screen shows, not only the Y.Text: the other's words ...
  await alice.page.locator('.cm-content', { hasText: 'blocked on nothing' }).waitFor()
  await bob.page.locator('.cm-content', { hasText: 'shipped the' }).waitFor()
  // ... their caret with a name label, and who is here.
  await alice.page.locator('.cm-ySelectionInfo', { hasText: 'Bob Brown' }).waitFor({ state: 'visible' })
  await bob.page.locator('.cm-ySelectionInfo', { hasText: 'Alice Adams' }).waitFor({ state: 'visible' })
  await alice.page.locator('.cm-ySelection').first().waitFor({ state: 'visible' })
  for (const p of [alice, bob]) {
    await p.page.waitForFunction(() => document.querySelector('[data-testid=people]').dataset.count === '2')
    const names = await p.page.$$eval('[data-testid=people] .face', (els) => els.map((e) => e.dataset.name))
    assert.deepEqual(names.slice().sort(), ['Alice Adams', 'Bob Brown'])
  }
  // the label is readable: opaque, not hover-only
  const opacity = await alice.page.$eval('.cm-ySelectionInfo', (el) => getComputedStyle(el).opacity)
  assert.equal(opacity, '1')
  // word count reflects the document
  // (the count is refreshed after typing pauses: wait for it rather than race it)
  await alice.page.waitForFunction(() => {
    const m = /^(\d+) words$/.exec(document.querySelector('[data-testid=word-count]').textContent)
    return m && Number(m[1]) >= 18
  }, null, { timeout: 10000 }).catch(() => {})
  const words = await alice.page.textContent('[data-testid=word-count]')
  assert.ok(Number(words.split(' ')[0]) >= 18, `word count ${words}`)

  // Two editors side by side, for a human to look at.
  await sleep(400) // let the label fade-in transition finish
  fs.mkdirSync(OUT_DIR, { recursive: true })
  const shots = [await alice.page.screenshot(), await bob.page.screenshot()]
  const sheet = await browser.newPage({ viewport: { width: 760 * 2 + 24 * 3, height: 540 + 48 } })
  await sheet.setContent(`<body style="margin:0;background:#596173;display:flex;gap:24px;padding:24px">${
    shots.map((b) => `<img style="box-shadow:0 4px 18px rgba(0,0,0,.35)" src="data:image/png;base64,${b.toString('base64')}">`).join('')}</body>`)
  await sheet.waitForFunction(() => [...document.images].every((i) => i.complete))
  await sheet.screenshot({ path: path.join(OUT_DIR, 'editors-side-by-side.png') })
  await sheet.close()
})

test('undo reverts only your own edits', async () => {
  const doc = 'undo-test'
  const alice = await open('Alice Adams', doc)
  const bob = await open('Bob Brown', doc)
  await typeAtEnd(alice.page, 'alpha ')
  await waitText(bob.page, (t) => t === 'alpha ')
  await typeAtEnd(bob.page, 'beta')
  await waitText(alice.page, (t) => t === 'alpha beta')
  // Alice undoes: her "alpha " goes, Bob's "beta" stays
  await alice.page.click('[data-testid=undo]')
  await waitText(alice.page, (t) => t === 'beta', { what: 'only Alice\'s edit undone' })
  await waitText(bob.page, (t) => t === 'beta')
  assert.equal(await alice.page.isDisabled('[data-testid=redo]'), false)
  await alice.page.click('[data-testid=redo]')
  await waitText(bob.page, (t) => t === 'alpha beta', { what: 'redo' })
  // keyboard undo in Bob's page takes back "beta" only
  await bob.page.locator('.cm-content').click()
  await bob.page.keyboard.press('Control+z')
  await waitText(alice.page, (t) => t === 'alpha ', { what: 'Bob\'s Ctrl+Z' })
})

test('a reloaded page shows the whole document', async () => {
  const doc = 'reload/long'
  const alice = await open('Alice Adams', doc)
  const lines = []
  for (let i = 1; i <= 300; i++) lines.push(`Line ${i}: the quick brown fox jumps over the lazy dog ${'*'.repeat(i % 7)}`)
  await alice.page.locator('.cm-content').click()
  await alice.page.keyboard.insertText(lines.join('\n'))
  await typeAtEnd(alice.page, '\nThe end.')
  const want = lines.join('\n') + '\nThe end.'
  await waitText(alice.page, (t) => t === want)

  const bob = await open('Bob Brown', doc)
  await waitText(bob.page, (t) => t === want, { what: 'the whole document in a second page' })
  await typeAtEnd(bob.page, ' (signed, Bob)')
  await waitText(alice.page, (t) => t.endsWith('(signed, Bob)'))
  const full = await text(alice.page)

  await bob.page.reload()
  await waitState(bob.page, 'live')
  await waitText(bob.page, (t) => t === full, { what: 'the whole document after reload' })
  // the editor view, not just the Y.Text, has all of it
  const viewText = await bob.page.evaluate(() => window.quire.view.state.doc.toString())
  assert.equal(viewText, full)
  await bob.page.locator('.cm-content').click()
  await bob.page.keyboard.press('Control+End')
  // (Alice's caret label may sit inside the line's text)
  await bob.page.locator('.cm-line', { hasText: /^The end\..*\(signed, Bob\)$/ }).waitFor({ state: 'visible' })
  // the word count is refreshed 150 ms after the last change: wait for it
  await bob.page.waitForFunction(() => /^3,?\d{3} words$/.test(document.querySelector('[data-testid=word-count]').textContent), null, { timeout: 10000 }).catch(() => {})
  assert.match(await bob.page.textContent('[data-testid=word-count]'), /^3,?\d{3} words$/)
})

test('the start page opens a document and refuses a bad name', async () => {
  const p = await person(browser, { name: 'Carol' })
  people.push(p)
  await p.page.goto(`${server.url}/`)
  await p.page.fill('#doc-name', 'bad name!')
  await p.page.click('button[type=submit]')
  await p.page.locator('[data-testid=start-error]', { hasText: 'not a valid document name' }).waitFor()
  await p.page.fill('#doc-name', 'team/plans')
  await p.page.click('button[type=submit]')
  await p.page.waitForURL(/\?doc=team\/plans$/)
  await waitState(p.page, 'live')
  assert.equal(await p.page.textContent('[data-testid=doc-name]'), 'team/plans')
  await p.page.goto(`${server.url}/`)
  await p.page.click('[data-testid=new-doc]')
  await p.page.waitForURL(/\?doc=note-\d{4}-\d\d-\d\d-[a-z0-9]{4}$/)
  await waitState(p.page, 'live')
  // the start page remembers recent documents
  await p.page.goto(`${server.url}/`)
  await p.page.locator('.recent a', { hasText: 'team/plans' }).waitFor()
  // an invalid ?doc= shows the start page with the reason, not a broken editor
  await p.page.goto(`${server.url}/?doc=${encodeURIComponent('a b')}`)
  await p.page.locator('[data-testid=start-error]', { hasText: 'not a valid document name' }).waitFor()
})

test('a newcomer without a name is asked once, and it is remembered', async () => {
  const p = await person(browser) // no stored name
  people.push(p)
  await p.page.goto(`${server.url}/?doc=names`)
  await waitState(p.page, 'live')
  await p.page.locator('[data-testid=ask-name]').waitFor({ state: 'visible' })
  const guest = await p.page.getAttribute('[data-testid=people] .face[data-me="1"]', 'data-name')
  assert.match(guest, /^Guest \d{3}$/)
  await p.page.fill('[data-testid=name-input]', 'Dana Doe')
  await p.page.keyboard.press('Enter')
  await p.page.locator('[data-testid=ask-name]').waitFor({ state: 'hidden' })
  await p.page.locator('[data-testid=people] .face[data-me="1"][data-name="Dana Doe"]').waitFor()
  await p.page.reload()
  await waitState(p.page, 'live')
  await p.page.locator('[data-testid=people] .face[data-me="1"][data-name="Dana Doe"]').waitFor()
  assert.equal(await p.page.isHidden('[data-testid=ask-name]'), true)
})

test('phone width: the editor, status and people fit without horizontal scrolling', async () => {
  const p = await open('Erin Evans', 'notes/standup', { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true })
  const overflow = await p.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`)
  for (const sel of ['[data-testid=status]', '[data-testid=people]', '.cm-content']) {
    const box = await p.page.locator(sel).boundingBox()
    assert.ok(box && box.x >= 0 && box.x + box.width <= 375 + 0.5, `${sel} within the screen: ${JSON.stringify(box)}`)
  }
  fs.mkdirSync(OUT_DIR, { recursive: true })
  await p.page.screenshot({ path: path.join(OUT_DIR, 'editor-phone.png') })
})
