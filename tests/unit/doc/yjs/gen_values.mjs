// Every value kind and shared type (XML with formatting, hooks, embeds, nested
// types, bigints, Uint8Array, special numbers) applied to a fresh peer that
// declared its roots; prints its state and toJSON. usage: node gen_values.mjs
import * as Y from 'yjs'
const d = new Y.Doc(); d.clientID = 42
const m = d.getMap('m'), a = d.getArray('a'), t = d.getText('t'), x = d.getXmlFragment('x')
m.set('int', 42); m.set('neg', -5); m.set('f', 0.5); m.set('d', 0.1); m.set('big', 2 ** 31); m.set('huge', 1e21); m.set('tiny', 1e-7); m.set('small', 0.000001)
m.set('nan', NaN); m.set('inf', Infinity); m.set('negz', -0); const mb = d.getMap('b'); mb.set('bi', 12345678901234n); mb.set('nbi', -5n)
m.set('u', undefined); m.set('n', null); m.set('b', true); m.set('s', 'he said "hi"\n\t\u0001 é 😀')
m.set('bin', new Uint8Array([1, 2, 255])); m.set('obj', { z: 1, 10: 'ten', 2: 'two', a: [1, { b: undefined, c: null }], u: undefined })
m.set('arr', [1, 'x', null, undefined, [2]]); m.set('10', 'numeric key'); m.set('2', 'two key'); m.set('date', new Date(0))
const im = new Y.Map(); m.set('nested', im); im.set('k', 'v'); const ia = new Y.Array(); im.set('arr', ia); ia.insert(0, [1, 2, 3])
const it = new Y.Text(); m.set('text', it); it.insert(0, 'nested text'); it.format(0, 6, { bold: true })
m.set('sub', new Y.Doc({ guid: 'g1' }))
m.set('del', 1); m.delete('del')
a.insert(0, [1, 'two', { three: 3 }, new Uint8Array([7]), null, 3.25])
const am = new Y.Map(); a.insert(1, [am]); am.set('q', [1, 2])
const at = new Y.Text('hello'); a.push([at])
const xa = new Y.XmlText(); a.push([xa]); xa.insert(0, 'xml in array', { i: true })
t.insert(0, 'Hello world, 😀 ok'); t.format(0, 5, { bold: true }); t.format(3, 5, { italic: true, color: '#f00' }); t.insertEmbed(6, { image: 'a.png' }); t.format(13, 2, { link: { href: 'http://x' } })
const p = new Y.XmlElement('P'); p.setAttribute('class', 'c1'); p.setAttribute('a', 'first'); p.setAttribute('num', 5)
x.insert(0, [p])
const tx = new Y.XmlText(); p.insert(0, [tx]); tx.insert(0, 'bold text', { b: true }); tx.insert(9, ' plain'); tx.insert(15, ' link', { a: { href: 'u', title: 'T' } }); tx.insert(20, ' str', { color: 'red' })
tx.insertEmbed(3, { img: 1 })
const q = new Y.XmlElement('span'); p.insert(1, [q]); q.insert(0, [new Y.XmlText('inner')])
x.insert(1, [new Y.XmlText('tail')])
const h = new Y.XmlHook('hook'); x.insert(2, [h]); h.set('k', 'v')
const out = []
const upd = Y.encodeStateAsUpdate(d)
const R = new Y.Doc(); R.clientID = 7
const rm = R.getMap('m'), ra = R.getArray('a'), rt = R.getText('t'), rx = R.getXmlFragment('x'), rmb = R.getMap('b')
Y.applyUpdate(R, upd)
out.push('S ' + Buffer.from(Y.encodeStateAsUpdate(R)).toString('hex'))
out.push('J m ' + JSON.stringify(rm.toJSON()))
out.push('J a ' + JSON.stringify(ra.toJSON()))
out.push('J t ' + JSON.stringify(rt.toJSON()))
out.push('J x ' + JSON.stringify(rx.toJSON()))
out.push('J b ' + JSON.stringify(rmb.toJSON(), (k, v) => typeof v === 'bigint' ? '@@' + v.toString() + '@@' : v).replace(/"@@(-?[0-9]+)@@"/g, '$1'))
console.log(out.join('\n'))
