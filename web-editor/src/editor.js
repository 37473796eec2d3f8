// The CodeMirror 6 view bound to a Y.Text.

import { EditorState, Compartment } from '@codemirror/state'
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, highlightSpecialChars, placeholder as placeholderExt, rectangularSelection
} from '@codemirror/view'
import { defaultKeymap, indentWithTab } from '@codemirror/commands'
import { searchKeymap, highlightSelectionMatches } from '@codemirror/search'
import { syntaxHighlighting, HighlightStyle, indentOnInput, LanguageSupport } from '@codemirror/language'
// Not markdown(): it embeds the HTML, CSS and JavaScript parsers (+160 KiB) for
// HTML blocks. Markdown with GFM, its list/quote continuation keys and
// paste-URL-as-link is what a document editor needs.
import { markdownLanguage, markdownKeymap, pasteURLAsLink } from '@codemirror/lang-markdown'
import { tags as t } from '@lezer/highlight'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'

const markdownStyle = HighlightStyle.define([
  { tag: t.heading1, fontWeight: '700', fontSize: '1.25em', color: '#1d2433' },
  { tag: t.heading2, fontWeight: '700', fontSize: '1.15em', color: '#1d2433' },
  { tag: t.heading3, fontWeight: '700', fontSize: '1.05em', color: '#1d2433' },
  { tag: [t.heading4, t.heading5, t.heading6], fontWeight: '700', color: '#1d2433' },
  { tag: t.strong, fontWeight: '700' },
  { tag: t.emphasis, fontStyle: 'italic' },
  { tag: t.strikethrough, textDecoration: 'line-through' },
  { tag: t.link, color: '#1f6feb', textDecoration: 'underline' },
  { tag: t.url, color: '#1f6feb' },
  { tag: t.monospace, fontFamily: 'var(--mono)', color: '#b3261e', backgroundColor: '#f3f1ee' },
  { tag: t.quote, color: '#5b6473', fontStyle: 'italic' },
  { tag: t.processingInstruction, color: '#8a93a3' },
  { tag: t.contentSeparator, color: '#8a93a3', fontWeight: '700' },
  { tag: t.meta, color: '#98a1b0' },
  { tag: [t.keyword, t.operator], color: '#7b4fc9' },
  { tag: [t.string, t.special(t.string)], color: '#2a7d4f' },
  { tag: t.comment, color: '#98a1b0', fontStyle: 'italic' },
  { tag: [t.number, t.bool, t.atom], color: '#b35c00' },
  { tag: t.invalid, color: '#d1495b' }
])

const theme = EditorView.theme({
  '&': { height: '100%', fontSize: '15px', backgroundColor: 'var(--paper)' },
  '&.cm-focused': { outline: 'none' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.6' },
  '.cm-content': { padding: '14px 0 40vh', caretColor: 'var(--ink)' },
  '.cm-line': { padding: '0 18px 0 10px' },
  '.cm-gutters': { backgroundColor: 'var(--paper)', color: '#a3abb8', border: 'none', paddingLeft: '6px' },
  '.cm-activeLineGutter': { backgroundColor: 'transparent', color: '#4a5261' },
  '.cm-activeLine': { backgroundColor: 'rgba(31, 111, 235, 0.045)' },
  '.cm-placeholder': { color: '#a3abb8', fontStyle: 'italic' },
  '.cm-selectionBackground, ::selection': { backgroundColor: 'rgba(31, 111, 235, 0.18) !important' },
  // Remote carets: the name label is always visible (y-codemirror shows it on hover only).
  '.cm-ySelectionCaret': { borderLeftWidth: '2px', borderRightWidth: '0', marginLeft: '-1px', marginRight: '-1px' },
  '.cm-ySelectionCaretDot': { display: 'none' },
  '.cm-ySelectionInfo': {
    opacity: '1',
    top: '-1.35em',
    left: '-2px',
    padding: '1px 5px',
    borderRadius: '4px 4px 4px 0',
    fontFamily: 'var(--sans)',
    fontSize: '11px',
    fontWeight: '600',
    lineHeight: '1.35',
    letterSpacing: '0.01em',
    boxShadow: '0 1px 2px rgba(0,0,0,.18)',
    pointerEvents: 'none'
  },
  '.cm-ySelectionCaret:hover > .cm-ySelectionInfo': { opacity: '0.25' }
})

/**
 * @param {object} o
 * @param {HTMLElement} o.parent
 * @param {import('yjs').Text} o.ytext
 * @param {any} o.awareness
 * @param {import('yjs').UndoManager} o.undoManager
 * @param {(view: EditorView, update: any) => void} [o.onUpdate]
 */
export function createEditor ({ parent, ytext, awareness, undoManager, onUpdate }) {
  const editable = new Compartment()
  const state = EditorState.create({
    doc: ytext.toString(),
    extensions: [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      drawSelection(),
      rectangularSelection(),
      highlightActiveLine(),
      highlightSelectionMatches(),
      indentOnInput(),
      EditorView.lineWrapping,
      new LanguageSupport(markdownLanguage),
      pasteURLAsLink,
      syntaxHighlighting(markdownStyle),
      placeholderExt('Start typing… (Markdown)'),
      keymap.of([...yUndoManagerKeymap, ...markdownKeymap, ...defaultKeymap, ...searchKeymap, indentWithTab]),
      yCollab(ytext, awareness, { undoManager }),
      theme,
      editable.of([]),
      EditorView.contentAttributes.of({ 'aria-label': 'Document text', spellcheck: 'true' }),
      EditorView.updateListener.of((u) => onUpdate && onUpdate(u.view, u))
    ]
  })
  const view = new EditorView({ state, parent })
  return {
    view,
    setReadOnly (ro) {
      view.dispatch({
        effects: editable.reconfigure(ro ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : [])
      })
    }
  }
}
