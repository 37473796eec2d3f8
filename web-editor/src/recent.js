// Recently opened document names (never tokens) for the start page.

const KEY = 'quire.recent'
const MAX = 8

export function recentDocs () {
  try {
    const list = JSON.parse(window.localStorage.getItem(KEY) || '[]')
    return Array.isArray(list) ? list.filter((x) => typeof x === 'string').slice(0, MAX) : []
  } catch {
    return []
  }
}

export function rememberDoc (doc) {
  try {
    const list = [doc, ...recentDocs().filter((d) => d !== doc)].slice(0, MAX)
    window.localStorage.setItem(KEY, JSON.stringify(list))
  } catch {}
}
