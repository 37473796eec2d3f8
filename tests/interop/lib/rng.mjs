// A small deterministic PRNG (mulberry32), exported by yclient.mjs. In a module
// of its own, without dependencies, so that bench/server's workers can import
// it without loading tests/interop's copy of yjs.

/** Returns a function giving numbers in [0, 1), the same sequence for the same `seed`. */
export function rng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
