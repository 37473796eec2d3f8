// A latency histogram with logarithmic buckets (2% wide), mergeable across
// processes, and small helpers for the report.

const GROWTH = 1.02
const LOG_G = Math.log(GROWTH)
const NBUCKETS = 1400 // 1.02^1400 µs ≈ 10^12 µs: every latency fits

export class Histogram {
  constructor () {
    this.counts = new Float64Array(NBUCKETS)
    this.n = 0
    this.sum = 0
    this.max = 0
    this.min = Infinity
  }

  /** Add one value in microseconds. */
  add (us) {
    const i = us <= 1 ? 0 : Math.min(NBUCKETS - 1, Math.floor(Math.log(us) / LOG_G))
    this.counts[i]++
    this.n++
    this.sum += us
    if (us > this.max) this.max = us
    if (us < this.min) this.min = us
  }

  merge (json) {
    for (const [i, c] of json.buckets) this.counts[i] += c
    this.n += json.n
    this.sum += json.sum
    this.max = Math.max(this.max, json.max)
    this.min = Math.min(this.min, json.min)
    return this
  }

  /** The p-quantile (0..1) in microseconds: the geometric middle of its bucket. */
  quantile (p) {
    if (this.n === 0) return null
    const rank = Math.max(1, Math.ceil(p * this.n))
    let seen = 0
    for (let i = 0; i < NBUCKETS; i++) {
      seen += this.counts[i]
      if (seen >= rank) {
        const v = i === 0 ? 1 : Math.pow(GROWTH, i + 0.5)
        return Math.min(Math.max(v, this.min), this.max)
      }
    }
    return this.max
  }

  summary () {
    if (this.n === 0) return { n: 0 }
    return {
      n: this.n,
      meanUs: this.sum / this.n,
      p50Us: this.quantile(0.5),
      p90Us: this.quantile(0.9),
      p99Us: this.quantile(0.99),
      p999Us: this.quantile(0.999),
      maxUs: this.max
    }
  }

  toJSON () {
    const buckets = []
    for (let i = 0; i < NBUCKETS; i++) if (this.counts[i]) buckets.push([i, this.counts[i]])
    return { buckets, n: this.n, sum: this.sum, max: this.max, min: this.min }
  }
}

export function fmtMs (us) {
  if (us == null) return '–'
  const ms = us / 1000
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)
}

export function fmtInt (x) {
  if (x == null || Number.isNaN(x)) return '–'
  return Math.round(x).toLocaleString('en-US')
}
