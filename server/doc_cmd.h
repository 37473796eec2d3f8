/* `quire doc`: offline tools over Yjs v1 update files (merge, diff, state
 * vector, validate). Uses only libc and the crdt library. */
#ifndef QUIRE_DOC_CMD_H
#define QUIRE_DOC_CMD_H

#include <stddef.h>
#include <stdint.h>

/* argv[0] is "doc". Returns the process exit status: 0 ok, 1 bad input or
 * I/O failure, 2 usage error (or a feature not in this build). */
int doc_main(int argc, char **argv);

/* Reads a whole file ("-" = stdin) of at most 1 GiB into *out (malloc()ed).
 * On failure prints "CMD: PATH: why" and returns -1. For the subcommands
 * that take files (quire doc, quire store put). */
int cmd_read_file(const char *cmd, const char *path, uint8_t **out, size_t *out_len);
/* Writes p[0..n) to path ("-" = stdout): 0, or 1 with "CMD: PATH: why" printed. */
int cmd_write_file(const char *cmd, const char *path, const uint8_t *p, size_t n);

#endif
