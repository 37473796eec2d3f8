/* libFuzzer target: a WebSocket message as the server reads it. proto_parse
 * never over-reads; an awareness update goes through awareness_apply (two
 * connections, so ownership limits and echoes are exercised), and whatever
 * the table then holds encodes to updates that a fresh table accepts again. */
#include "awareness.h"
#include "proto.h"

#include "must.h"

#include <stdio.h>
#include <stdlib.h>

static const aw_limits_t lim = {.max_state = 16384, .max_entries = 500, .max_per_owner = 16};

/* An update the server built must be accepted by a fresh table. */
static void reapply(const uint8_t *u, size_t n)
{
	if (!u)
		return;
	awareness_t b = {0};
	MUST(awareness_apply(&b, u, n, 7, 0, &(aw_limits_t){.max_state = 1 << 20, .max_entries = 1 << 20, .max_per_owner = 1 << 20}) >= 0);
	awareness_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	proto_msg_t m;
	int rc = proto_parse(data, size, &m);
	MUST(rc == PROTO_OK || rc == PROTO_MALFORMED || rc == PROTO_UNKNOWN);
	if (rc != PROTO_OK)
		return 0;
	MUST(m.len <= size && (m.len == 0 || (m.payload >= data && m.payload + m.len <= data + size)));
	if (m.type != MSG_AWARENESS)
		return 0;
	awareness_t a = {0};
	int first = awareness_apply(&a, m.payload, m.len, 1, 1000, &lim);
	int again = awareness_apply(&a, m.payload, m.len, 2, 2000, &lim);
	MUST(first >= -1 && again >= -1);
	MUST(first != -1 || again == -1); /* malformed is malformed for everyone */
	MUST(awareness_count(&a) <= lim.max_entries);
	uint8_t *all = NULL, *changes = NULL;
	size_t all_n = 0, changes_n = 0;
	MUST(awareness_encode_all(&a, &all, &all_n) == 0);
	reapply(all, all_n);
	MUST(awareness_take_changes(&a, &changes, &changes_n) == 0);
	reapply(changes, changes_n);
	awareness_remove_owner(&a, 1);
	awareness_expire(&a, 1u << 30, 1);
	MUST(awareness_count(&a) == 0);
	free(all);
	free(changes);
	awareness_free(&a);
	return 0;
}
