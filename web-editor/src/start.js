// The start page (no ?doc=): create a document or open one by name.

import { h, icon } from './dom.js'
import { isValidDocName, editorUrl } from './params.js'
import { recentDocs } from './recent.js'

const NAME_RULE = '1–255 characters from A–Z a–z 0–9 . _ ~ / -'

function newDocName () {
  const d = new Date()
  const day = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
  const rnd = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => 'abcdefghjkmnpqrstuvwxyz23456789'[b % 31]).join('')
  return `note-${day}-${rnd}`
}

export function renderStart (root, { badDoc, token } = {}) {
  document.title = 'quire'
  const input = h('input', {
    name: 'doc',
    id: 'doc-name',
    autocomplete: 'off',
    autocapitalize: 'off',
    spellcheck: 'false',
    placeholder: 'team/meeting-notes',
    required: true,
    value: badDoc || ''
  })
  const tokenInput = h('textarea', {
    name: 'token', id: 'doc-token', rows: 3, spellcheck: 'false', placeholder: 'v4.public.…'
  })
  if (token) tokenInput.value = token
  const error = h('p.form-error', { role: 'alert', 'data-testid': 'start-error' })
  if (badDoc !== undefined && badDoc !== null) {
    error.textContent = `“${badDoc}” is not a valid document name: use ${NAME_RULE}.`
  }
  const go = (doc) => {
    const name = doc.trim()
    if (!isValidDocName(name)) {
      error.textContent = `“${name}” is not a valid document name: use ${NAME_RULE}.`
      input.focus()
      return
    }
    window.location.assign(editorUrl(name, tokenInput.value.trim() || null))
  }
  const form = h('form.open', {
    onsubmit: (e) => { e.preventDefault(); go(input.value) }
  },
  h('label', { for: 'doc-name' }, 'Open a document'),
  h('div.row', input, h('button.primary', { type: 'submit' }, 'Open')),
  h('details', { open: token ? true : undefined },
    h('summary', 'I have an access token'),
    h('label.small', { for: 'doc-token' }, 'Paste the token you were given. It stays in the page address after “#”, which is never sent to the server’s logs.'),
    tokenInput),
  error)

  const recent = recentDocs()
  root.replaceChildren(h('div.start',
    h('main.start-card',
      h('div.brand-big', h('span.logo', 'q'), 'quire'),
      h('p.lede', 'Shared Markdown documents, edited together in real time.'),
      h('button.new', { type: 'button', onclick: () => go(newDocName()), 'data-testid': 'new-doc' }, icon('plus'), 'New document'),
      h('div.or', h('span', 'or')),
      form,
      recent.length
        ? h('section.recent', h('h2', 'Recently opened'),
          h('ul', recent.map((d) => h('li', h('a', { href: editorUrl(d, null) }, d)))))
        : null
    ),
    h('p.foot-note', 'Your name and the list of recent documents stay in this browser.')
  ))
  if (!badDoc) input.focus()
}
