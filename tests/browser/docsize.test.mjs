// A document over --max-doc-size in the editor: an edit that adds text is
// refused by the server (permission denied); the page says so in its banner
// and stays editable (deletions are still taken); what was refused stays in
// the tab and is saved, and the banner goes, once deletions make room (the
// server asks the tab for its edits again).

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startServer, sleep } from './lib/server.mjs'
import { launch, person, waitState, waitText, typeAtEnd } from './lib/browser.mjs'

let server
let browser

before(async () => {
  server = await startServer({ args: ['--max-doc-size', '4K'] })
  browser = await launch()
})

after(async () => {
  if (browser) await browser.close()
  if (server) await server.stop()
})

async function serverText (doc) {
  const res = await fetch(`${server.url}/api/docs/${doc}/text`, { signal: AbortSignal.timeout(10000) })
  return res.status === 200 ? res.text() : ''
}

async function waitServerText (doc, want, what) {
  const deadline = Date.now() + 15000
  let last
  while ((last = await serverText(doc)) !== want && Date.now() < deadline) await sleep(50)
  assert.equal(last, want, what)
}

async function rejected () {
  const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(10000) })
  const line = (await res.text()).split('\n').find((l) => l.startsWith('quire_messages_rejected_total{reason="too_large"} '))
  return Number(line.split(' ')[1])
}

test('over --max-doc-size the editor says why an edit was refused, stays editable, and saves the edit once deletions make room', async () => {
  const doc = 'notes/too-large'
  const p = await person(browser)
  await p.page.goto(`${server.url}/?doc=${doc}`)
  await waitState(p.page, 'live')
  await p.page.locator('.cm-content').click()
  await p.page.keyboard.insertText('a'.repeat(5000)) // under the limit when it arrives: stored
  await waitServerText(doc, 'a'.repeat(5000), 'the text stored')

  await typeAtEnd(p.page, 'b')
  const banner = p.page.locator('[data-testid=banner]')
  await banner.waitFor({ state: 'visible' })
  assert.match(await banner.textContent(), /too large and takes deletions only/)
  assert.equal(await p.page.locator('[data-testid=readonly]').isVisible(), false, 'not shown as read-only')
  assert.equal(await rejected(), 1)
  assert.equal(await serverText(doc), 'a'.repeat(5000), 'the refused edit is not saved')

  // still editable: a deletion is taken (the document stays over the limit)
  await p.page.keyboard.press('Backspace')
  await p.page.keyboard.press('Backspace')
  await waitText(p.page, (s) => s === 'a'.repeat(4999))
  await waitServerText(doc, 'a'.repeat(4999), 'the deletion saved')

  // another refused edit, kept in the tab
  await typeAtEnd(p.page, 'c')
  const deadline = Date.now() + 15000
  while (await rejected() < 2 && Date.now() < deadline) await sleep(50)
  assert.equal(await rejected(), 2)
  assert.equal(await banner.isVisible(), true)
  assert.equal(await serverText(doc), 'a'.repeat(4999))

  // someone else, in another tab, deletes 2,000 characters: the document is
  // below the limit, the server asks the first tab for its edits, and 'c' is saved
  const q = await person(browser)
  await q.page.goto(`${server.url}/?doc=${doc}`)
  await waitState(q.page, 'live')
  await waitText(q.page, (s) => s === 'a'.repeat(4999))
  await q.page.evaluate(() => window.quire.ytext.delete(0, 2000))
  await waitServerText(doc, 'a'.repeat(2999) + 'c', 'the refused edit saved once there is room')
  await waitText(p.page, (s) => s === 'a'.repeat(2999) + 'c')
  await banner.waitFor({ state: 'hidden' })
  await waitText(q.page, (s) => s === 'a'.repeat(2999) + 'c')
  assert.deepEqual(p.errors, [], 'no page errors or console errors')
  assert.deepEqual(q.errors, [])
  await p.context.close()
  await q.context.close()
})
