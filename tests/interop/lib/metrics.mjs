// Reading the server's Prometheus text (GET /metrics) in tests.

/**
 * The value of metric `name` (with exactly the label set `labels`, e.g.
 * 'limit="connections"', or none) as a number; null when the line is absent.
 */
export async function metric (server, name, labels = '') {
  const res = await fetch(`${server.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })
  const body = await res.text()
  const key = labels ? `${name}{${labels}}` : name
  const line = body.split('\n').find((l) => l.startsWith(key + ' '))
  return line ? Number(line.slice(key.length + 1)) : null
}
