// A document whose stored copy is damaged (a flipped byte, found by quire's
// checksums; docs/operations.md "Checksums"): the editor says so instead of
// retrying for ever, both when the page opens and when it was already open.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { startServer, makeTempDir, sleep } from './lib/server.mjs'
import { launch, person, waitState, text, typeAtEnd } from './lib/browser.mjs'
import { flipText } from '../interop/lib/lmdb.mjs'

const dataDir = makeTempDir()
let browser
before(async () => { browser = await launch() })
after(async () => {
  if (browser) await browser.close()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

test('a damaged document: an open page keeps its text and says why; a page opened later shows the reason and stops retrying', async () => {
  // compacted often, so that the typed text is stored in one piece
  const server = await startServer({ dataDir, args: ['--doc-idle-timeout', '1', '--compact-after', '5'] })
  const doc = 'damaged-notes'
  try {
    const p = await person(browser, { name: 'Dora' })
    await p.page.goto(`${server.url}/?doc=${doc}`)
    await waitState(p.page, 'live')
    await typeAtEnd(p.page, 'The quick brown fox.')
    await sleep(1500) // stored, and the document unloaded after a second unused
    for (let i = 0; ; i++) { // LMDB takes the write beside the running server, once the text is committed
      try {
        flipText(dataDir, doc, 'quick')
        break
      } catch (e) {
        if (i === 50) throw e
        await sleep(100)
      }
    }
    await sleep(1500)
    await typeAtEnd(p.page, ' More.') // its room loads the document again: damaged
    await waitState(p.page, 'refused', 15000)
    const banner = p.page.locator('[data-testid=banner]')
    await banner.waitFor({ state: 'visible' })
    assert.match(await banner.textContent(), /cannot be opened/i)
    assert.equal(await text(p.page), 'The quick brown fox. More.', 'the text stays in the tab')
    await p.context.close()

    const q = await person(browser, { name: 'Quinn' })
    await q.page.goto(`${server.url}/?doc=${doc}`)
    await waitState(q.page, 'refused')
    const card = q.page.locator('[data-testid=refusal]')
    await card.waitFor({ state: 'visible' })
    assert.equal(await card.getAttribute('data-reason'), 'damaged')
    assert.match(await card.textContent(), /damaged/)
    const attempts = () => server.stderr.split('\n').filter((l) => l.includes(`room ${doc}: cannot load`)).length
    const n = attempts()
    await sleep(2500)
    assert.equal(attempts(), n, 'no reconnect attempts after the refusal')
    await q.context.close()
  } finally {
    await server.stop()
  }
})
