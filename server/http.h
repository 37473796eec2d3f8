/* http: the h2o event loop, routes, WebSocket transport and shutdown. */
#ifndef QUIRE_HTTP_H
#define QUIRE_HTTP_H

#include "config.h"

/* Runs the server until SIGTERM/SIGINT. Returns the process exit code. */
int serve_run(const config_t *cfg);

#endif
