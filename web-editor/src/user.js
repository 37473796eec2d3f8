// Who "you" are to the others in the room: a display name and a colour.
//
// The name comes from, in order: the token's `sub` claim, a `name` URL
// parameter (set by an embedding page), the name you typed once before
// (localStorage), or nothing yet (the page then asks, once). The colour is
// derived from the name so the same person keeps the same colour everywhere.

const NAME_KEY = 'quire.name'

// Readable on white as a caret and a label background (white text).
export const PALETTE = [
  '#d1495b', '#1f77b4', '#2a9d8f', '#e07a1f', '#7b4fc9', '#c2185b',
  '#00838f', '#5d8a22', '#8e5a2b', '#3f51b5', '#b8860b', '#6d4c41'
]

function hash (s) {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 16777619)
  }
  return h >>> 0
}

export function colourFor (name) {
  return PALETTE[hash(name) % PALETTE.length]
}

export function cleanName (s) {
  return String(s || '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 40)
}

export function rememberedName () {
  try {
    return cleanName(window.localStorage.getItem(NAME_KEY)) || null
  } catch {
    return null
  }
}

export function rememberName (name) {
  try {
    window.localStorage.setItem(NAME_KEY, name)
  } catch {}
}

export function guestName (clientId) {
  return 'Guest ' + String(clientId % 1000).padStart(3, '0')
}

export function initials (name) {
  const parts = cleanName(name).split(/[\s._@-]+/).filter(Boolean)
  if (!parts.length) return '?'
  const first = [...parts[0]][0] || '?'
  const second = parts.length > 1 ? [...parts[parts.length - 1]][0] : ([...parts[0]][1] || '')
  return (first + second).toUpperCase()
}
