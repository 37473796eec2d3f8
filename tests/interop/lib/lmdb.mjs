// Reading and writing quire's LMDB store from tests with LMDB's own tools
// (mdb_dump / mdb_load, from lmdb-utils), e.g. to damage a stored record.
// Node built-ins only, so the browser tests can import it too.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'

/** The records of one named database of an LMDB env: [{ key, value }] (Buffers). */
export function dump (dir, db) {
  const r = spawnSync('mdb_dump', ['-s', db, dir], { encoding: 'utf8', timeout: 30000 })
  assert.equal(r.status, 0, `mdb_dump -s ${db}: ${r.stderr}`)
  const lines = r.stdout.split('\n')
  const start = lines.indexOf('HEADER=END') + 1
  const out = []
  for (let i = start; i < lines.length && lines[i] !== 'DATA=END'; i += 2) {
    out.push({ key: Buffer.from(lines[i].trim(), 'hex'), value: Buffer.from(lines[i + 1].trim(), 'hex') })
  }
  return out
}

/** Writes records into a named database with mdb_load (existing keys are replaced; the env is created if need be). */
export function load (dir, db, records) {
  const text = ['VERSION=3', 'format=bytevalue', 'type=btree', 'HEADER=END',
    ...records.flatMap(({ key, value }) => [' ' + key.toString('hex'), ' ' + value.toString('hex')]), 'DATA=END', ''].join('\n')
  const r = spawnSync('mdb_load', ['-s', db, dir], { input: text, encoding: 'utf8', timeout: 30000 })
  assert.equal(r.status, 0, `mdb_load -s ${db}: ${r.stderr}`)
}

/** The docs record and the log records of the document named name. */
export function logOf (dir, name) {
  const doc = dump(dir, 'docs').find((r) => r.key.toString() === name)
  assert.ok(doc, `${name} has a docs record`)
  const id = doc.value.subarray(0, 8)
  return { doc, records: dump(dir, 'log').filter((r) => r.key.subarray(0, 8).equals(id)) }
}

/** Flips one bit of the first byte of `text` in the document's log record that holds it. */
export function flipText (dir, name, text) {
  const rec = logOf(dir, name).records.find((r) => r.value.includes(text))
  assert.ok(rec, `a stored update of ${name} holds ${JSON.stringify(text)}`)
  const v = Buffer.from(rec.value)
  v[v.indexOf(text)] ^= 0x01
  load(dir, 'log', [{ key: rec.key, value: v }])
  return { key: rec.key, value: v }
}
