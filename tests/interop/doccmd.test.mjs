// `quire doc` against the real yjs: the files it reads and writes, and what it
// prints, must agree with what yjs computes for the same updates.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as Y from 'yjs'
import { QUIRE_BIN } from './lib/server.mjs'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-doccmd-'))
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))

function write (name, bytes) {
  const p = path.join(dir, name)
  fs.writeFileSync(p, bytes)
  return p
}

function quire (...args) {
  const r = spawnSync(QUIRE_BIN, ['doc', ...args], { encoding: 'buffer', timeout: 20000 })
  return { code: r.status, out: r.stdout, err: r.stderr.toString() }
}

// Two replicas edit concurrently: text with an emoji and formatting, a map, an array.
function makeDocs () {
  const a = new Y.Doc(); a.clientID = 11
  const b = new Y.Doc(); b.clientID = 3000000000
  const ups = []
  a.on('update', (u) => ups.push(u))
  b.on('update', (u) => ups.push(u))
  a.getText('t').insert(0, 'héllo 😀 world')
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
  b.getText('t').insert(6, 'dear ')
  a.getText('t').delete(0, 1)
  a.getText('t').format(0, 3, { bold: true })
  b.getMap('m').set('k', { n: 1.5, s: 'x', l: [1, 2, null] })
  a.getMap('m').set('k', 'from a')
  b.getArray('a').insert(0, [1, 'two', false])
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b))
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
  return { a, b, ups }
}

test('quire doc text / json print what yjs reads', () => {
  const { a } = makeDocs()
  const full = write('full.bin', Y.encodeStateAsUpdate(a))
  const t = quire('text', full, '--root', 't')
  assert.equal(t.code, 0, t.err)
  assert.equal(t.out.toString('utf8'), a.getText('t').toString(), 'text, exactly, no newline added')
  const j = quire('json', full)
  assert.equal(j.code, 0, j.err)
  assert.deepEqual(JSON.parse(j.out.toString()), {
    t: a.getText('t').toJSON(), m: a.getMap('m').toJSON(), a: a.getArray('a').toJSON()
  })
  const jm = quire('json', full, '--root', 'm')
  assert.equal(jm.code, 0, jm.err)
  assert.deepEqual(JSON.parse(jm.out.toString()), a.getMap('m').toJSON())
  // a root that does not exist prints nothing
  const none = quire('text', full, '--root', 'nope')
  assert.equal(none.code, 0, none.err)
  assert.equal(none.out.length, 0)
})

// JSON content (an embed, a formatting value) nested as deep as the update
// validator allows (QC_MAX_JSON_DEPTH, 256 containers) is integrated like
// any other; Yjs itself has no limit. It was refused at 65 levels (the Any
// limit was applied to JSON content), so such a document could not be read.
test('quire doc reads embeds and formatting nested as deep as the validator allows', () => {
  const nested = (depth) => {
    let v = { leaf: 'x' }
    for (let i = 1; i < depth; i++) v = i % 2 ? [v, i] : { k: v }
    return v
  }
  for (const depth of [65, 100, 256]) {
    const d = new Y.Doc(); d.clientID = 7
    const t = d.getText('t')
    t.insert(0, 'abc')
    t.insertEmbed(1, nested(depth))
    t.format(2, 2, { deep: nested(depth) })
    const file = write(`deep-${depth}.bin`, Y.encodeStateAsUpdate(d))
    const r = quire('text', file, '--root', 't')
    assert.equal(r.code, 0, `depth ${depth}: ${r.err}`)
    assert.equal(r.out.toString('utf8'), t.toString(), `depth ${depth}`)
  }
  // one level more than the validator allows: refused with a clear error
  const d = new Y.Doc(); d.clientID = 8
  d.getText('t').insertEmbed(0, nested(257))
  const r = quire('text', write('deep-257.bin', Y.encodeStateAsUpdate(d)), '--root', 't')
  assert.notEqual(r.code, 0)
  assert.match(r.err, /\S/)
})

test('quire doc merge / sv / diff agree with Y.mergeUpdates, encodeStateVectorFromUpdate, diffUpdate', () => {
  const { a, ups } = makeDocs()
  const files = ups.map((u, i) => write(`u${i}.bin`, u))
  const out = path.join(dir, 'merged.bin')
  const m = quire('merge', ...files, '-o', out)
  assert.equal(m.code, 0, m.err)
  const merged = fs.readFileSync(out)
  assert.deepEqual(new Uint8Array(merged), Y.mergeUpdates(ups))
  const check = new Y.Doc(); Y.applyUpdate(check, merged)
  assert.equal(check.getText('t').toString(), a.getText('t').toString())

  const sv = quire('sv', out)
  assert.equal(sv.code, 0, sv.err)
  const expected = {}
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVectorFromUpdate(merged))) expected[String(client)] = clock
  assert.deepEqual(JSON.parse(sv.out.toString()), expected)

  const half = new Y.Doc(); Y.applyUpdate(half, ups[0])
  const svFile = write('half.sv', Y.encodeStateVector(half))
  const d = quire('diff', out, '--sv', svFile, '-o', '-')
  assert.equal(d.code, 0, d.err)
  assert.deepEqual(new Uint8Array(d.out), Y.diffUpdate(merged, Y.encodeStateVector(half)))
  Y.applyUpdate(half, d.out)
  assert.equal(half.getText('t').toString(), a.getText('t').toString())
})

test('quire doc refuses bad input with a clear error and a non-zero exit', () => {
  const good = write('good.bin', Y.encodeStateAsUpdate(makeDocs().a))
  const cases = [
    [['text', write('garbage.bin', Buffer.from([0x05, 0xff, 0xff, 0x01])), '--root', 't'], 1, /garbage\.bin: malformed update/],
    [['json', write('trunc.bin', fs.readFileSync(good).subarray(0, 20))], 1, /trunc\.bin: malformed update/],
    [['json', path.join(dir, 'missing.bin')], 1, /missing\.bin: No such file/],
    [['text', good], 2, /needs --root NAME/],
    [['frobnicate'], 2, /frobnicate/],
    [['merge', good], 2, /-o/]
  ]
  for (const [args, code, re] of cases) {
    const r = quire(...args)
    assert.equal(r.code, code, `quire doc ${args.join(' ')}: exit ${r.code}, stderr ${r.err}`)
    assert.match(r.err, re, `quire doc ${args.join(' ')}`)
    assert.equal(r.out.length, 0, 'nothing on stdout')
  }
})
