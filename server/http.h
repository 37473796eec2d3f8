/* http: the h2o event loop, routes, WebSocket transport and shutdown. */
#ifndef QUIRE_HTTP_H
#define QUIRE_HTTP_H

#include "config.h"

/* Runs the server until SIGTERM/SIGINT. Returns the process exit code. */
int serve_run(const config_t *cfg);

/* Percent-decodes and checks a document name (1-255 bytes of
 * [A-Za-z0-9._~/-]). Returns the decoded length, or -1. out holds 256. */
int doc_name_decode(const char *raw, size_t len, char *out);

#endif
