// Records the local edits of replica 0 (client 5) in a random 3-replica Yjs
// session: each op, the update event it produced, the updates it received,
// and the final state/JSON. usage: node gen_local.mjs SEED OPS [SESSIONS]
// SESSIONS (a probability, default 0): before each of their ops, replicas 1
// and 2 take a new clientID with this probability (a new browser session), so
// the document collects many clients; replica 0 then also makes some long
// deletes, whose delete sets span many clients.
import * as Y from 'yjs'
const seed0 = parseInt(process.argv[2] || '1')
const nops = parseInt(process.argv[3] || '200')
const sessions = parseFloat(process.argv[4] || '0')
let s = seed0 >>> 0
const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296 }
const ri = n => Math.floor(rnd() * n)
const N = 3
const docs = [], queues = []
for (let i = 0; i < N; i++) { const d = new Y.Doc(); d.clientID = [5, 2, 300][i]; docs.push(d); queues.push([]) }
const out = []
let last = null
docs.forEach((d, i) => d.on('update', u => { for (let j = 0; j < N; j++) if (j !== i) queues[j].push(u); if (i === 0) last = u }))
const chars = ['a', 'b', 'xy', '😀', 'é', 'Z', 'hello']
const attrsList = [null, { bold: true }, { bold: null }, { italic: true, bold: true }, {}]
const flatOf = t => t.toDelta().map(o => typeof o.insert === 'string' ? o.insert : '\u0001').join('')
const splits = (f, i) => i > 0 && i < f.length && f.charCodeAt(i - 1) >= 0xd800 && f.charCodeAt(i - 1) < 0xdc00 && f.charCodeAt(i) >= 0xdc00 && f.charCodeAt(i) < 0xe000
const op = (d, me) => {
  const k = sessions && !me ? ri(4) : ri(13) // with SESSIONS the others only type
  const t = d.getText('t'), a = d.getArray('a'), m = d.getMap('m')
  let rec = null
  if (k < 4) { let i = ri(t.length + 1); if (me && splits(flatOf(t), i)) i--; const c = chars[ri(chars.length)]; const at = ri(3) ? null : attrsList[ri(attrsList.length)]; if (at) t.insert(i, c, at); else t.insert(i, c); rec = `OT ${i} ${JSON.stringify(c)} ${JSON.stringify(at)}` }
  else if (k < 6) { if (t.length) { let i = ri(t.length); let l = Math.min(sessions && me && ri(4) === 0 ? 20 + ri(100) : 1 + ri(3), t.length - i); if (me) { const f = flatOf(t); if (splits(f, i)) { i--; l++ } if (splits(f, i + l)) l++ } t.delete(i, l); rec = `OD ${i} ${l}` } }
  else if (k === 6) { if (t.length) { let i = ri(t.length); let l = Math.min(1 + ri(3), t.length - i); if (me) { const f = flatOf(t); if (splits(f, i)) { i--; l++ } if (splits(f, i + l)) l++ } const at = { bold: ri(2) ? true : null }; t.format(i, l, at); rec = `OF ${i} ${l} ${JSON.stringify(at)}` } }
  else if (k === 7) { const i = ri(a.length + 1); const v = [ri(100), 'v' + ri(9)]; a.insert(i, v); rec = `OA ${i} ${JSON.stringify(v)}` }
  else if (k === 8) { if (a.length) { const i = ri(a.length); a.delete(i, 1); rec = `OX ${i} 1` } }
  else if (k === 9) { const key = 'k' + ri(4); const v = ri(3) ? ri(1000) : { x: [1, null, 'q'] }; m.set(key, v); rec = `OM ${key} ${JSON.stringify(v)}` }
  else if (k === 10) { const key = 'k' + ri(4); m.delete(key); rec = `OR ${key}` }
  else if (k === 11) { if (t.length < 40) { let i = ri(t.length + 1); if (me && splits(flatOf(t), i)) i--; const e = { img: 'p' + ri(3) }; t.insertEmbed(i, e); rec = `OE ${i} ${JSON.stringify(e)}` } }
  else if (!me) { const im = new Y.Map(); a.insert(ri(a.length + 1), [im]); im.set('z', ri(5)) }
  return rec
}
const used = new Set([5, 2, 300])
for (let n = 0; n < nops; n++) {
  const i = ri(N)
  if (sessions && i !== 0 && rnd() < sessions) {
    let id
    do id = 10 + ri(0x7ffffff0); while (used.has(id))
    used.add(id)
    docs[i].clientID = id
  }
  last = null
  const rec = op(docs[i], i === 0)
  if (i === 0 && rec) {
    // embed value must be reproducible: log the actual
    out.push(rec)
    out.push('E ' + (last ? Buffer.from(last).toString('hex') : ''))
  }
  if (ri(3) === 0) {
    const j = ri(N)
    while (queues[j].length && ri(3)) {
      const u = queues[j].splice(ri(queues[j].length), 1)[0]
      if (j === 0) out.push('U ' + Buffer.from(u).toString('hex'))
      Y.applyUpdate(docs[j], u)
    }
  }
}
if (sessions) { // replica 0 receives everything, then deletes the whole text: one delete set over many clients
  for (const u of queues[0].splice(0)) { out.push('U ' + Buffer.from(u).toString('hex')); Y.applyUpdate(docs[0], u) }
  const t = docs[0].getText('t')
  if (t.length) { last = null; const l = t.length; t.delete(0, l); out.push(`OD 0 ${l}`, 'E ' + Buffer.from(last).toString('hex')) }
}
function lastEmbed () { return lastE }
let lastE = null
out.push('S ' + Buffer.from(Y.encodeStateAsUpdate(docs[0])).toString('hex'))
out.push('J t ' + JSON.stringify(docs[0].getText('t').toJSON()))
out.push('J a ' + JSON.stringify(docs[0].getArray('a').toJSON()))
out.push('J m ' + JSON.stringify(docs[0].getMap('m').toJSON()))
console.log('# local\n' + out.join('\n'))
