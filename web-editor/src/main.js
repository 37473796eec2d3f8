// quire's web editor: one shared Markdown document per page.
//
// The page (see params.js for its URL) connects to ws(s)://HOST/ws/{doc}
// through y-websocket, binds the document's Y.Text "codemirror" to a
// CodeMirror 6 view with y-codemirror.next, and shows who is here, the
// connection state and a word count.

import * as Y from 'yjs'
import { Awareness } from 'y-protocols/awareness'
import { yUndoManagerKeymap } from 'y-codemirror.next'
import { readParams, isValidDocName, editorUrl } from './params.js'
import { readClaims, claimCoversDoc } from './token.js'
import { Connection } from './connection.js'
import { createEditor } from './editor.js'
import { renderStart } from './start.js'
import { h, icon } from './dom.js'
import { colourFor, cleanName, rememberedName, rememberName, guestName, initials } from './user.js'
import { rememberDoc } from './recent.js'

const TEXT_NAME = 'codemirror' // the Y.Text shared by every client of a document
const MAX_FACES = 5

const params = readParams()
const root = document.getElementById('app')
if (params.embed) document.documentElement.classList.add('embed')

if (params.doc === null) {
  renderStart(root, { token: params.token })
} else if (!isValidDocName(params.doc)) {
  renderStart(root, { badDoc: params.doc, token: params.token })
} else {
  openEditor(params)
}

function openEditor ({ doc, token, name: nameParam, embed }) {
  document.title = `${doc} · quire`
  if (!embed) rememberDoc(doc)
  const inFrame = window.parent !== window
  const toParent = (msg) => { if (inFrame) window.parent.postMessage({ source: 'quire', doc, ...msg }, '*') }

  let claims = token ? readClaims(token) : null
  const ydoc = new Y.Doc()
  const ytext = ydoc.getText(TEXT_NAME)
  const awareness = new Awareness(ydoc)
  const undoManager = new Y.UndoManager(ytext)

  // --- who am I --------------------------------------------------------------
  let nameSource // 'token' | 'param' | 'stored' | 'guest'
  let myName
  function pickName () {
    const sub = claims && claims.sub ? cleanName(claims.sub) : ''
    if (sub) { nameSource = 'token'; myName = sub }
    else if (nameParam && cleanName(nameParam)) { nameSource = 'param'; myName = cleanName(nameParam) }
    else if (rememberedName()) { nameSource = 'stored'; myName = rememberedName() }
    else { nameSource = 'guest'; myName = guestName(ydoc.clientID) }
  }
  pickName()
  const setUser = () => {
    const color = colourFor(myName)
    awareness.setLocalStateField('user', { name: myName, color, colorLight: color + '33' })
  }
  setUser()

  // --- layout ---------------------------------------------------------------
  const statusLabel = h('span.label', 'Connecting…')
  const retryBtn = h('button.retry', { type: 'button', hidden: true, onclick: () => conn.retryNow() }, 'Retry now')
  const status = h('div.status', { role: 'status', 'aria-live': 'polite', 'data-testid': 'status', dataset: { state: 'connecting' } },
    h('span.dot', { 'aria-hidden': 'true' }), statusLabel, retryBtn)
  const people = h('ul.people', { 'aria-label': 'Who is here', 'data-testid': 'people' })
  const undoBtn = h('button.icon-btn', { type: 'button', title: 'Undo your last edit (Ctrl+Z)', 'aria-label': 'Undo', disabled: true, 'data-testid': 'undo' }, icon('undo'))
  const redoBtn = h('button.icon-btn', { type: 'button', title: 'Redo (Ctrl+Shift+Z)', 'aria-label': 'Redo', disabled: true, 'data-testid': 'redo' }, icon('redo'))
  const roBadge = h('span.badge', { hidden: true, title: 'Your token allows reading only', 'data-testid': 'readonly' }, icon('lock'), 'read-only')
  const brand = embed
    ? h('a.brand', { href: editorUrl(doc, token), target: '_blank', rel: 'noopener', title: 'Open in quire' }, h('span.logo', 'q'))
    : h('a.brand', { href: './', title: 'quire — start page' }, h('span.logo', 'q'), h('span.brand-name', 'quire'))
  const header = h('header.bar',
    brand,
    h('div.title', h('h1.doc-name', { title: doc, 'data-testid': 'doc-name' }, doc), roBadge),
    h('div.tools', undoBtn, redoBtn),
    people,
    status)

  const nameInput = h('input', { id: 'my-name', maxlength: 40, autocomplete: 'name', placeholder: 'e.g. Ada Lovelace', 'data-testid': 'name-input' })
  const askName = h('form.ask-name', {
    hidden: true,
    'data-testid': 'ask-name',
    onsubmit: (e) => {
      e.preventDefault()
      const n = cleanName(nameInput.value)
      if (!n) { nameInput.focus(); return }
      myName = n
      nameSource = 'stored'
      rememberName(n)
      setUser()
      askName.hidden = true
      editor.view.focus()
    }
  },
  h('label', { for: 'my-name' }, 'Your name, shown to others here:'),
  nameInput,
  h('button.primary', { type: 'submit' }, 'Save'),
  h('button.link', { type: 'button', onclick: () => { askName.hidden = true; editor.view.focus() } }, 'Not now'))

  const banner = h('div.banner', { hidden: true, role: 'alert', 'data-testid': 'banner' })
  const editorHost = h('div.editor', { 'data-testid': 'editor' })
  const refusal = h('div.refusal', { hidden: true, role: 'alert', 'data-testid': 'refusal' })
  const words = h('span.words', { 'data-testid': 'word-count' }, '0 words')
  const pos = h('span.pos', 'Ln 1, Col 1')
  const footer = h('footer.foot', words, h('span.sep', '·'), pos, h('span.grow'),
    h('span.hint', embed ? null : 'Markdown · Ctrl+Z undoes only your own edits'))
  const shell = h('div.shell', header, askName, banner, h('main.editor-wrap', editorHost, refusal), footer)
  root.replaceChildren(shell)

  // --- the editor -------------------------------------------------------------
  const undo = yUndoManagerKeymap[0].run
  const redo = yUndoManagerKeymap[2].run
  let countTimer = null
  const editor = createEditor({
    parent: editorHost,
    ytext,
    awareness,
    undoManager,
    onUpdate (view, u) {
      if (u.selectionSet || u.docChanged) {
        const head = view.state.selection.main.head
        const line = view.state.doc.lineAt(head)
        pos.textContent = `Ln ${line.number}, Col ${head - line.from + 1}`
      }
      if (u.docChanged) {
        clearTimeout(countTimer)
        countTimer = setTimeout(updateCount, 150)
      }
    }
  })
  undoBtn.addEventListener('click', () => { undo(editor.view); editor.view.focus() })
  redoBtn.addEventListener('click', () => { redo(editor.view); editor.view.focus() })
  const updateUndo = () => {
    undoBtn.disabled = !undoManager.canUndo()
    redoBtn.disabled = !undoManager.canRedo()
  }
  undoManager.on('stack-item-added', updateUndo)
  undoManager.on('stack-item-popped', updateUndo)
  undoManager.on('stack-cleared', updateUndo)

  const segmenter = typeof Intl !== 'undefined' && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: 'word' }) : null
  function countWords (s) {
    if (segmenter) {
      let n = 0
      for (const seg of segmenter.segment(s)) if (seg.isWordLike) n++
      return n
    }
    return (s.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) || []).length
  }
  function updateCount () {
    const text = editor.view.state.doc.toString()
    const n = countWords(text)
    words.textContent = `${n.toLocaleString()} ${n === 1 ? 'word' : 'words'}`
    words.title = `${text.length.toLocaleString()} characters`
  }

  // --- who is here --------------------------------------------------------------
  function renderPeople () {
    const me = ydoc.clientID
    const list = []
    awareness.getStates().forEach((st, id) => {
      if (st && st.user && typeof st.user.name === 'string') {
        list.push({ id, name: cleanName(st.user.name) || 'Anonymous', color: st.user.color || '#888', me: id === me })
      }
    })
    list.sort((a, b) => (b.me - a.me) || a.name.localeCompare(b.name))
    const shown = list.slice(0, MAX_FACES)
    const items = shown.map((p) => h('li.face', {
      title: p.me ? `${p.name} (you)` : p.name,
      style: `--c:${/^#[0-9a-fA-F]{3,8}$/.test(p.color) ? p.color : '#888'}`,
      dataset: { name: p.name, me: p.me ? '1' : '0' },
      onclick: p.me && nameSource !== 'token' ? () => { nameInput.value = nameSource === 'guest' ? '' : myName; askName.hidden = false; nameInput.focus() } : null
    }, h('span.initials', initials(p.name)), h('span.sr', p.me ? `${p.name} (you)` : p.name)))
    if (list.length > MAX_FACES) items.push(h('li.more', { title: list.slice(MAX_FACES).map((p) => p.name).join(', ') }, `+${list.length - MAX_FACES}`))
    people.replaceChildren(...items)
    people.title = list.map((p) => p.me ? `${p.name} (you)` : p.name).join(', ')
    people.dataset.count = String(list.length)
  }
  awareness.on('change', renderPeople)
  renderPeople()

  // --- token-derived state ---------------------------------------------------------
  let denied = false
  let tooLarge = false // the banner shows a --max-doc-size refusal
  function applyClaims () {
    const ro = (claims && claims.scope === 'ro') || denied
    roBadge.hidden = !ro
    editor.setReadOnly(ro || conn?.state.kind === 'refused')
  }

  // --- connection ------------------------------------------------------------------
  const wsProto = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  let unsyncedLocal = false
  let tick = null
  const conn = new Connection({
    serverUrl: `${wsProto}//${window.location.host}/ws`,
    apiBase: window.location.origin,
    doc,
    ydoc,
    awareness,
    token,
    onChange: showState,
    onDenied (reason) {
      if (/^document too large/.test(reason || '')) {
        // --max-doc-size: deletions still go through, and what was refused
        // stays in this tab until the server asks for it again
        // (onSyncRequest), so the editor stays editable
        showBanner('The server refused your last edit: this document is too large and takes deletions only. ' +
          'What you added stays in this tab and is saved once deletions make room.')
        tooLarge = true
        return
      }
      denied = true
      applyClaims()
      showBanner(`The server refused your edits: this token is read-only${reason ? ` (${reason})` : ''}. Changes you make are not saved.`)
    },
    onSyncRequest () {
      // the server asked for what it lacks: the refused edits go with the answer
      if (tooLarge) showBanner('')
    }
  })
  ydoc.on('update', (_u, origin) => {
    if (origin !== conn.provider && conn.state.kind !== 'live') unsyncedLocal = true
  })

  function showBanner (text) {
    tooLarge = false
    banner.textContent = text
    banner.hidden = !text
  }

  function showState (st) {
    clearInterval(tick)
    tick = null
    status.dataset.state = st.kind
    retryBtn.hidden = st.kind !== 'offline'
    if (st.kind !== 'refused') {
      refusal.hidden = true
      editorHost.hidden = false
      shell.classList.remove('blocked')
    }
    switch (st.kind) {
      case 'connecting': statusLabel.textContent = 'Connecting…'; break
      case 'syncing': statusLabel.textContent = 'Syncing…'; break
      case 'live':
        statusLabel.textContent = 'Live'
        status.title = 'Connected: edits are shared as you type'
        unsyncedLocal = false
        showBanner('')
        applyClaims()
        break
      case 'offline': {
        const what = { busy: 'Server busy', 'ws-refused': 'Connection refused', lost: 'Offline', unreachable: 'Offline' }[st.why] || 'Offline'
        const render = () => {
          const s = Math.max(0, Math.ceil((st.retryAt - Date.now()) / 1000))
          statusLabel.textContent = s > 0 ? `${what} · retrying in ${s} s` : `${what} · retrying…`
        }
        render()
        tick = setInterval(render, 250)
        status.title = 'Your edits are kept in this tab and sent when the connection is back'
        break
      }
      case 'refused':
        statusLabel.textContent = 'No access'
        showRefusal(st)
        break
    }
    toParent({ type: 'status', state: st.kind })
  }

  function refusalText (st) {
    const expired = claims && claims.exp && claims.exp.getTime() <= Date.now()
    const revoked = { key: 'revoked', title: 'Your access link was revoked', text: 'The server no longer accepts this link. Ask the document’s owner for a new one.' }
    if (st.reason === 'closed') {
      if (st.code === 4401) {
        return { key: 'expired', title: 'Your access link has expired', text: `Ask for a new link${embed ? ', or reload the page this editor is part of' : ''}.` }
      }
      if (st.code === 4403) return revoked
      return { key: 'closed', title: 'The server closed this document', text: 'The server ended the connection and asked not to reconnect.' }
    }
    if (st.status === 500) return { key: 'damaged', title: 'This document cannot be opened', text: 'The server found its stored copy damaged and refuses it until an administrator restores it. Text already in this tab stays here.' }
    if (st.status === 400) return { key: 'bad-name', title: 'Invalid document name', text: `The server does not accept “${doc}” as a document name.` }
    if (st.status === 401) {
      if (!token) return { key: 'missing', title: 'This document needs an access token', text: 'Open the full link you were given (it ends in “#token=…”), or ask the document’s owner for one.' }
      if (/token revoked/.test(st.detail || '')) return revoked
      if (/--max-token-lifetime/.test(st.detail || '')) return { key: 'too-long', title: 'Your access link is valid for too long', text: 'This server accepts only shorter-lived links. Ask for a new one.' }
      if (expired) return { key: 'expired', title: 'Your access link has expired', text: `The token expired ${claims.exp.toLocaleString()}. Ask for a new link${embed ? ', or reload the page this editor is part of' : ''}.` }
      return { key: 'invalid', title: 'Your access token is not valid', text: 'The server did not accept the token in this link: it may be incomplete, damaged, not yet valid, or signed with a key the server does not trust.' }
    }
    if (st.status === 403) {
      if (claims && claims.doc !== undefined && !claimCoversDoc(claims.doc, doc)) {
        return { key: 'other-doc', title: 'This token is for another document', text: `It grants access to “${claims.doc}”, not to “${doc}”.` }
      }
      return { key: 'forbidden', title: 'Access denied', text: 'The server refused access to this document from this page (its origin may not be allowed).' }
    }
    return { key: 'refused', title: 'Access refused', text: 'The server refused the connection.' }
  }

  function showRefusal (st) {
    const r = refusalText(st)
    editor.setReadOnly(true)
    const detail = st.detail ? h('p.detail', 'Server said: ', h('code', st.detail)) : null
    const code = st.code ? ` (close code ${st.code})` : ''
    if (conn.everSynced || ytext.length > 0) {
      // Keep what is on screen (and any unsent edits) visible; say why it stopped.
      showBanner(`${r.title}${code}. ${r.text}${unsyncedLocal ? ' Your latest edits were not saved: copy them before leaving.' : ''}`)
    } else {
      editorHost.hidden = true
      askName.hidden = true
      shell.classList.add('blocked')
      refusal.hidden = false
      refusal.dataset.reason = r.key
      refusal.replaceChildren(h('div.card',
        h('div.card-icon', icon('key')),
        h('h2', r.title),
        h('p', r.text + code),
        detail,
        h('div.actions',
          h('button.primary', { type: 'button', onclick: () => { conn.setToken(token); applyClaims() } }, 'Try again'),
          embed ? null : h('a.button', { href: './' }, 'Start page'))))
    }
    toParent({ type: 'refused', reason: r.key })
  }

  // An embedding page may hand over a fresh token: {type: 'quire:token', token}.
  window.addEventListener('message', (e) => {
    if (e.source !== window.parent || !e.data || e.data.type !== 'quire:token' || typeof e.data.token !== 'string') return
    token = e.data.token
    claims = readClaims(token)
    pickName()
    setUser()
    denied = false
    showBanner('')
    history.replaceState(null, '', editorUrl(doc, token, { embed }))
    conn.setToken(token)
    applyClaims()
  })
  window.addEventListener('hashchange', () => {
    if (readParams().token !== token) window.location.reload()
  })

  window.addEventListener('beforeunload', (e) => {
    if (unsyncedLocal && conn.state.kind !== 'live') { e.preventDefault(); e.returnValue = '' }
  })

  applyClaims()
  updateCount()
  conn.start()
  if (nameSource === 'guest') askName.hidden = false
  else editor.view.focus()
  toParent({ type: 'ready' })

  // For tests and the curious: the live objects behind the page.
  window.quire = {
    doc, ydoc, ytext, awareness, undoManager, provider: conn.provider, connection: conn, view: editor.view,
    text: () => ytext.toString(),
    state: () => conn.state.kind
  }
}
