// Debian's chromium, driven by playwright-core (no downloaded browsers).
//
// CHROMIUM_BIN overrides the executable (default /usr/bin/chromium). Each
// launch runs on a fresh, empty profile: playwright's chromium.launch() makes a
// new temporary --user-data-dir and removes it at close (it refuses an explicit
// --user-data-dir argument). Each "person" in a test gets their own browser
// context (own storage), like two people on two machines.

import fs from 'node:fs'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { REPO } from './server.mjs'

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium'
export const OUT_DIR = path.join(REPO, 'tests', 'out')

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]

export async function launch () {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_BIN)`)
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30000 })
}

/**
 * A new person: own context (storage), one page, console errors collected.
 * @param {import('playwright-core').Browser} browser
 */
export async function person (browser, { name, viewport = { width: 720, height: 560 } } = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 })
  if (name) {
    await context.addInitScript((n) => { try { localStorage.setItem('quire.name', n) } catch {} }, name)
  }
  context.setDefaultTimeout(15000)
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(String(e)))
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  return { context, page, errors }
}

/** Wait until the page's status says `state` (connecting|syncing|live|offline|refused). */
export async function waitState (page, state, timeout = 15000) {
  await page.waitForFunction((s) => document.querySelector('[data-testid=status]')?.dataset.state === s,
    state, { timeout, polling: 50 })
}

/** The document text as the page's Y.Text has it. */
export function text (page) {
  return page.evaluate(() => window.quire.text())
}

/** Wait until the page's text satisfies pred (a function of the text, run in node). */
export async function waitText (page, pred, { timeout = 15000, what = 'text' } = {}) {
  const deadline = Date.now() + timeout
  let last
  while (Date.now() < deadline) {
    last = await text(page)
    if (pred(last)) return last
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}; text is ${JSON.stringify(last)}`)
}

/** Put the cursor at the end of the document and type. */
export async function typeAtEnd (page, s) {
  await page.locator('.cm-content').click()
  await page.keyboard.press('Control+End')
  await page.keyboard.type(s, { delay: 5 })
}
