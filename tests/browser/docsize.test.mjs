// A document over --max-doc-size in the editor: an edit that adds text is
// refused by the server (permission denied), the page says so in its banner
// and stays editable (deletions are still taken), and nothing is saved.

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

test('over --max-doc-size the editor shows why an edit was refused and stays editable', async () => {
  const doc = 'notes/too-large'
  const p = await person(browser)
  await p.page.goto(`${server.url}/?doc=${doc}`)
  await waitState(p.page, 'live')
  await p.page.locator('.cm-content').click()
  await p.page.keyboard.insertText('a'.repeat(5000)) // under the limit when it arrives: stored
  const deadline = Date.now() + 15000
  while ((await serverText(doc)).length !== 5000 && Date.now() < deadline) await sleep(50)
  assert.equal((await serverText(doc)).length, 5000)

  await typeAtEnd(p.page, 'b')
  const banner = p.page.locator('[data-testid=banner]')
  await banner.waitFor({ state: 'visible' })
  assert.match(await banner.textContent(), /too large and takes deletions only/)
  assert.equal(await p.page.locator('[data-testid=readonly]').isVisible(), false, 'not shown as read-only')
  await sleep(300)
  assert.equal(await serverText(doc), 'a'.repeat(5000), 'the refused edit is not saved')
  // still editable: a deletion is taken
  await p.page.keyboard.press('Backspace')
  await p.page.keyboard.press('Backspace')
  await waitText(p.page, (s) => s === 'a'.repeat(4999))
  const until = Date.now() + 15000
  while ((await serverText(doc)).length !== 4999 && Date.now() < until) await sleep(50)
  assert.equal(await serverText(doc), 'a'.repeat(4999), 'the deletion is saved')
  assert.deepEqual(p.errors, [], 'no page errors or console errors')
  await p.context.close()
})
