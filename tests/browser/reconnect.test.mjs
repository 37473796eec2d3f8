// quire goes away mid-session and comes back: both pages say so, keep the
// edits made meanwhile, reconnect by themselves and converge.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { startServer, makeTempDir, sleep } from './lib/server.mjs'
import { launch, person, waitState, waitText, text, typeAtEnd } from './lib/browser.mjs'

let browser
const servers = []
const dataDir = makeTempDir()

after(async () => {
  if (browser) await browser.close()
  for (const s of servers) if (s.alive()) await s.stop({ keepData: true })
  fs.rmSync(dataDir, { recursive: true, force: true })
})

test('with quire restarted mid-session both pages reconnect and converge, offline edits included', async () => {
  const first = await startServer({ dataDir })
  servers.push(first)
  const port = first.port
  browser = await launch()
  const alice = await person(browser, { name: 'Alice Adams' })
  const bob = await person(browser, { name: 'Bob Brown' })
  const doc = 'restart/me'
  for (const p of [alice, bob]) {
    await p.page.goto(`${first.url}/?doc=${doc}`)
    await waitState(p.page, 'live')
  }
  await typeAtEnd(alice.page, 'Before the restart.\n')
  await waitText(bob.page, (t) => t === 'Before the restart.\n')

  // quire stops (SIGTERM: it closes every socket with 1001 and exits)
  await first.stop({ keepData: true })
  for (const p of [alice, bob]) {
    await waitState(p.page, 'offline')
    await p.page.locator('[data-testid=status]', { hasText: /Offline · retrying (in \d+ s|…)/ }).waitFor()
    assert.equal(await p.page.isVisible('[data-testid=status] .retry'), true, 'a "Retry now" button')
  }

  // both keep editing while it is gone
  await typeAtEnd(alice.page, 'Alice, offline.\n')
  await typeAtEnd(bob.page, 'Bob, offline.\n')
  assert.notEqual(await text(alice.page), await text(bob.page))
  // the editor stays usable and honest: it does not claim to be live
  // (between retries it is 'offline'; during an attempt 'connecting': never 'live')
  for (const p of [alice, bob]) {
    const state = await p.page.getAttribute('[data-testid=status]', 'data-state')
    assert.ok(state === 'offline' || state === 'connecting', `state while quire is down: ${state}`)
  }
  await sleep(1500) // let a few reconnect attempts fail

  // quire comes back on the same port with the same data
  const second = await startServer({ dataDir, port })
  servers.push(second)
  for (const p of [alice, bob]) await waitState(p.page, 'live', 45000)

  const has = (t) => t.startsWith('Before the restart.\n') && t.includes('Alice, offline.\n') && t.includes('Bob, offline.\n')
  const a = await waitText(alice.page, has, { what: 'both offline edits in Alice\'s page' })
  await waitText(bob.page, (t) => t === a, { what: 'Bob\'s page equal to Alice\'s' })

  // and quire stored them: a third person sees the same document
  const carol = await person(browser, { name: 'Carol' })
  await carol.page.goto(`${second.url}/?doc=${doc}`)
  await waitState(carol.page, 'live')
  await waitText(carol.page, (t) => t === a, { what: 'the merged document from the server' })

  // presence recovered too: everybody sees three people
  for (const p of [alice, bob, carol]) {
    await p.page.waitForFunction(() => document.querySelector('[data-testid=people]').dataset.count === '3', null, { timeout: 15000 })
  }
  // and live editing works again after the reconnect
  await typeAtEnd(bob.page, 'After.')
  await waitText(alice.page, (t) => t.endsWith('After.'))
  for (const p of [alice, bob, carol]) {
    assert.deepEqual(p.errors.filter((e) => !/WebSocket connection to .* failed|Failed to load resource/.test(e)), [])
  }
})

test('a WebSocket the server refuses (Origin not allowed) is reported, never shown as live', async () => {
  const server = await startServer({ args: ['--allow-origin', 'https://wiki.example.org'] })
  servers.push(server)
  browser = browser || await launch()
  const p = await person(browser, { name: 'Mallory' })
  await p.page.goto(`${server.url}/?doc=origin-test`)
  await waitState(p.page, 'offline')
  // after a few refused handshakes it says the server refuses, and keeps trying
  await p.page.locator('[data-testid=status]', { hasText: /Connection refused · retrying/ }).waitFor({ timeout: 20000 })
  assert.notEqual(await p.page.getAttribute('[data-testid=status]', 'data-state'), 'live')
  // the editor is still there (nothing was refused for good: an HTTP probe says the server is up)
  assert.equal(await p.page.isVisible('.cm-content'), true)
  await server.stop()
})
