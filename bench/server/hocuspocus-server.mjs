// Hocuspocus as the benchmark runs it: @hocuspocus/server's own Server (its http
// server + ws), no extensions (documents live in memory only; no database), on
// 127.0.0.1 with a port chosen by the OS, printed as "PORT n" on stdout.
// Default configuration otherwise (debounce, timeout, gc). It exits on SIGTERM
// (stopOnSignals).

import { Server } from '@hocuspocus/server'

const server = new Server({
  address: '127.0.0.1',
  port: 0,
  quiet: true,
  stopOnSignals: true
})
await server.listen()
process.stdout.write(`PORT ${server.address.port}\n`)
