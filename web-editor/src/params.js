// What the page was asked to open.
//
//   /?doc=NAME#token=TOKEN            the editor for document NAME
//   /?doc=NAME&embed=1#token=TOKEN    the same, compact, for an iframe in a wiki page
//   /                                 the start page (create or open a document)
//
// The token lives in the fragment so it is never sent to the server in a
// request line, never written to its access log and never leaks in a Referer.
// `name` (display name) may be given in the query or the fragment.

export const DOC_NAME_RE = /^[A-Za-z0-9._~/-]{1,255}$/

export function isValidDocName (name) {
  return typeof name === 'string' && DOC_NAME_RE.test(name) && new TextEncoder().encode(name).length <= 255
}

export function readParams (loc = window.location) {
  const query = new URLSearchParams(loc.search)
  const frag = new URLSearchParams(loc.hash.replace(/^#/, ''))
  const embed = query.get('embed')
  return {
    doc: query.get('doc'),
    token: frag.get('token') || null,
    name: frag.get('name') || query.get('name') || null,
    embed: embed !== null && embed !== '0' && embed !== 'false'
  }
}

/** The URL of the editor for `doc`, with an optional token in the fragment. */
export function editorUrl (doc, token, { embed = false } = {}) {
  const u = new URL(window.location.href)
  u.search = '?doc=' + doc + (embed ? '&embed=1' : '') // doc names are URL-safe by construction
  u.hash = token ? 'token=' + encodeURIComponent(token) : ''
  return u.toString()
}
