// Records a random 3-replica Yjs session as seen by a receive-only replica R
// (updates in delivery order, then R's encoded state, state vector and JSON).
// usage: node gen_remote.mjs SEED OPS GC(0|1) [decl]  (needs yjs: tests/interop/node_modules)
import * as Y from 'yjs'
const seed0 = parseInt(process.argv[2] || '1')
const nops = parseInt(process.argv[3] || '200')
const gcOn = (process.argv[4] || '1') === '1'
let s = seed0 >>> 0
const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296 }
const ri = n => Math.floor(rnd() * n)
const N = 3
const docs = []
const queues = []
for (let i = 0; i < N; i++) {
  const d = new Y.Doc({ gc: gcOn }); d.clientID = [1, 2, 300][i] + (seed0 % 7) * 1000
  docs.push(d); queues.push([])
}
const R = new Y.Doc({ gc: gcOn }); R.clientID = 999999
if (process.argv[5] === 'decl') { R.getText('t'); R.getArray('a'); R.getMap('m') }
const rq = []
const out = []
docs.forEach((d, i) => d.on('update', u => {
  for (let j = 0; j < N; j++) if (j !== i) queues[j].push(u)
  rq.push(u)
}))
const chars = ['a', 'b', 'xy', '😀', 'é', 'Z']
const op = d => {
  const k = ri(12)
  const t = d.getText('t'), a = d.getArray('a'), m = d.getMap('m')
  if (k < 4) { t.insert(ri(t.length + 1), chars[ri(chars.length)]) }
  else if (k < 6) { if (t.length) { const i = ri(t.length); t.delete(i, Math.min(1 + ri(3), t.length - i)) } }
  else if (k === 6) { if (t.length) { const i = ri(t.length); t.format(i, 1 + ri(2), { bold: ri(2) ? true : null }) } }
  else if (k === 7) { a.insert(ri(a.length + 1), [ri(100), 'v' + ri(9)]) }
  else if (k === 8) { if (a.length) a.delete(ri(a.length), 1) }
  else if (k === 9) { m.set('k' + ri(4), ri(3) ? ri(1000) : { x: [1, null, 'q'] }) }
  else if (k === 10) { m.delete('k' + ri(4)) }
  else { const im = new Y.Map(); a.insert(ri(a.length + 1), [im]); im.set('z', ri(5)) }
}
for (let n = 0; n < nops; n++) {
  const i = ri(N)
  op(docs[i])
  if (ri(4) === 0) { // deliver some queued updates to some doc
    const j = ri(N)
    while (queues[j].length && ri(3)) { const u = queues[j].splice(ri(queues[j].length), 1)[0]; Y.applyUpdate(docs[j], u) }
  }
  if (ri(3) === 0 && rq.length) { // deliver to R out of order, sometimes duplicate
    const idx = ri(rq.length)
    const u = rq[idx]
    if (ri(4)) rq.splice(idx, 1)
    out.push('U ' + Buffer.from(u).toString('hex'))
    Y.applyUpdate(R, u)
  }
}
while (rq.length) { const u = rq.splice(ri(rq.length), 1)[0]; out.push('U ' + Buffer.from(u).toString('hex')); Y.applyUpdate(R, u) }
out.push('S ' + Buffer.from(Y.encodeStateAsUpdate(R)).toString('hex'))
out.push('V ' + Buffer.from(Y.encodeStateVector(R)).toString('hex'))
out.push('J t ' + JSON.stringify(R.getText('t').toJSON()))
out.push('J a ' + JSON.stringify(R.getArray('a').toJSON()))
out.push('J m ' + JSON.stringify(R.getMap('m').toJSON()))
console.log(`# remote gc=${gcOn ? 1 : 0} decl=${process.argv[5] === 'decl' ? 1 : 0}\n` + out.join('\n'))
