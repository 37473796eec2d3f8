/* `quire doc`: offline tools over Yjs v1 update files (merge, diff, state
 * vector, validate). Uses only libc and the crdt library. */
#ifndef QUIRE_DOC_CMD_H
#define QUIRE_DOC_CMD_H

/* argv[0] is "doc". Returns the process exit status: 0 ok, 1 bad input or
 * I/O failure, 2 usage error (or a feature not in this build). */
int doc_main(int argc, char **argv);

#endif
