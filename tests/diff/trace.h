/* Editing-trace loader (josephg/editing-traces format, gzipped JSON), shared
 * by tests/diff/trace_replay.c and bench/qbench.c. See tests/traces/README.md.
 *
 * Positions and lengths in the file count Unicode code points; trace_cp_to_u16
 * converts them for the crdt API, which counts UTF-16 units. */
#ifndef QUIRE_TRACE_H
#define QUIRE_TRACE_H

#include <stddef.h>
#include <stdint.h>

typedef struct tr_patch {
	uint64_t pos, del;  /* code points */
	const char *ins;    /* UTF-8, not NUL-terminated */
	size_t ins_len;     /* bytes */
	uint64_t ins_u16;   /* UTF-16 units of ins */
} tr_patch;

typedef struct tr_txn {
	size_t first_patch, npatches;
	size_t first_parent, nparents; /* into trace.parents (concurrent only) */
	uint32_t agent;
} tr_txn;

typedef struct trace {
	char *start, *end; /* startContent / endContent, UTF-8, NUL-terminated */
	size_t start_len, end_len;
	tr_txn *txns;
	size_t ntxns;
	tr_patch *patches;
	size_t npatches;
	size_t *parents;
	size_t nparents;
	int concurrent;
	uint32_t num_agents;
	int astral; /* some inserted text has a code point above U+FFFF */
	char *arena; /* decoded strings */
	size_t gz_bytes, json_bytes;
} trace;

/* Loads a .json.gz (or plain .json) trace. Returns 0, or -1 with a message in
 * err (which has room for 256 bytes). */
int trace_load(const char *path, trace *t, char *err);
void trace_free(trace *t);

/* SHA-256 of n bytes, as 64 lowercase hex chars + NUL into hex. */
void trace_sha256_hex(const void *p, size_t n, char hex[65]);

/* Number of UTF-16 units in the first cp code points of UTF-8 s (length n). */
uint64_t trace_cp_to_u16(const char *s, size_t n, uint64_t cp);

/* The ancestors of txn i (through the parents DAG) that are not marked in
 * have (one byte per txn): marks them, writes them to todo in ascending index
 * order (a topological order) and returns how many. stack and todo need room
 * for ntxns entries. */
size_t trace_missing_ancestors(const trace *t, size_t i, uint8_t *have, size_t *stack, size_t *todo);

/* A trace position (code points) as a UTF-16 index into the doc's text root;
 * the identity unless the trace inserts astral characters. */
struct qc_doc;
uint64_t trace_u16_pos(struct qc_doc *doc, const char *root, const trace *t, uint64_t cp);

#endif
