/* libFuzzer target for the document model (quire/doc.h).
 *
 * Input layout: byte 0 is flags (bit 0: gc off, bit 1: do local edits,
 * bits 2-3: pending limit 1/4/64 KiB or default, bit 4: qc_doc_trim after
 * every record, which must change nothing the doc shows); then records of
 * [u16 little-endian length][that many bytes], each applied to one doc with
 * qc_doc_apply_update (a short last record takes what is left). Rejected
 * updates must leave the doc as it was; accepted ones must keep it readable.
 *
 * Then, optionally, a few local edits driven by the input, and the round trip:
 * the doc's state (qc_doc_encode_state, which includes pending structs) must
 * validate and load into a fresh doc; without pending structs the reload
 * re-encodes byte for byte with the same state vector (with them it must know
 * at least as much); the reload's JSON survives another round trip, through
 * qc_doc_load as the server opens documents (and re-encodes byte for byte
 * when nothing is pending); the diff
 * against the doc's own state vector loads and changes nothing.
 */
#include "quire/doc.h"
#include "quire/update.h"

#include "must.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct snap {
	char *json;
	size_t json_len;
	uint8_t *sv;
	size_t sv_len;
} snap;

static void take(qc_doc *d, snap *s)
{
	MUST(qc_doc_json(d, &s->json, &s->json_len) == QC_OK);
	MUST(qc_doc_state_vector(d, &s->sv, &s->sv_len) == QC_OK);
}

static int same(const snap *a, const snap *b)
{
	return a->json_len == b->json_len && memcmp(a->json, b->json, a->json_len) == 0 &&
	       a->sv_len == b->sv_len && memcmp(a->sv, b->sv, a->sv_len) == 0;
}

static void drop(qc_doc *d, snap *s)
{
	qc_free(d, s->json);
	qc_free(d, s->sv);
}

static void local_edits(qc_doc *d, const uint8_t *p, size_t n)
{
	static const char *const roots[] = {"t", "a", "m", "x"};
	for (size_t i = 0; i + 3 <= n && i < 24; i += 3) {
		const char *root = roots[p[i] & 3];
		uint64_t len = qc_doc_length(d, root);
		uint64_t at = len ? p[i + 1] % (len + 1) : 0;
		uint64_t cnt = len > at ? 1 + p[i + 2] % (len - at) : 0;
		switch ((p[i] >> 2) % 8) {
		case 0: qc_text_insert(d, root, at, "h\xc3\xa9\xf0\x9f\x98\x80", 7, NULL); break;
		case 1: qc_text_delete(d, root, at, cnt); break;
		case 2: qc_text_format(d, root, at, cnt, "{\"bold\":true}"); break;
		case 3: qc_text_insert_embed(d, root, at, "{\"image\":\"x\"}"); break;
		case 4: qc_array_insert(d, root, at, "[1,\"two\",null,{\"k\":[true]}]"); break;
		case 5: qc_array_delete(d, root, at, cnt); break;
		case 6: qc_map_set(d, root, (p[i + 1] & 1) ? "k" : "j", "{\"v\":2}"); break;
		case 7: qc_map_delete(d, root, (p[i + 1] & 1) ? "k" : "j"); break;
		}
	}
}

/* A reload may differ from its source in one way Yjs shares: crafted input in
 * which one client made two items with the same origin (no Yjs client does)
 * integrates differently in another order, e.g. a later map value with a null
 * origin superseding an earlier one only on reload, so the reload deletes
 * (and GCs) more. Yjs's own encodeStateAsUpdate round trip diverges the same
 * way on such input (tests/fuzz/corpus/doc/reload-deletes-more). Accepted only
 * when the reload already holds all of the source: applying the source to
 * another copy of the reload changes nothing (and the caller then checks that
 * both have the same state vector, so the reload has no structs of its own). */
static int reload_only_deletes_more(const qc_doc_opts *o, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	qc_doc *d = qc_doc_new(o);
	uint8_t *e = NULL;
	size_t en = 0;
	int ok = d && qc_doc_apply_update(d, b, bn) == QC_OK && qc_doc_apply_update(d, a, an) == QC_OK &&
		 qc_doc_encode_state(d, NULL, 0, &e, &en) == QC_OK && en == bn && memcmp(e, b, bn) == 0;
	if (d) {
		qc_free(d, e);
		qc_doc_free(d);
	}
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	static const size_t limits[] = {1024, 4096, 65536, 0};
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = 0x9abcdef0u;
	o.gc = !(flags & 1);
	o.max_pending_bytes = limits[(flags >> 2) & 3];
	qc_doc *a = qc_doc_new(&o);
	MUST(a);

	size_t i = 1;
	while (i < size) {
		size_t n = 0;
		if (i + 2 <= size) {
			n = (size_t)data[i] | (size_t)data[i + 1] << 8;
			i += 2;
		} else {
			i = size;
		}
		if (n > size - i)
			n = size - i;
		snap before, after;
		take(a, &before);
		int rc = qc_doc_apply_update(a, data + i, n);
		if (rc == QC_ERR_PENDING) {
			/* past max_pending_bytes: what could integrate stays, the
			 * pending set is dropped; the update itself was valid */
			MUST(qc_update_validate(data + i, n) == QC_OK);
		} else if (rc != QC_OK) {
			/* rejected: unchanged */
			take(a, &after);
			MUST(same(&before, &after));
			drop(a, &after);
		} else {
			MUST(qc_update_validate(data + i, n) == QC_OK);
		}
		if (flags & 16) {
			take(a, &after);
			qc_doc_trim(a);
			snap trimmed;
			take(a, &trimmed);
			MUST(same(&after, &trimmed));
			drop(a, &trimmed);
			drop(a, &after);
		}
		drop(a, &before);
		i += n;
	}
	if (flags & 2)
		local_edits(a, data + 1, size - 1);

	snap sa, sb;
	take(a, &sa);
	uint8_t *state = NULL, *diff = NULL;
	size_t state_len = 0, diff_len = 0;
	MUST(qc_doc_encode_state(a, NULL, 0, &state, &state_len) == QC_OK);
	size_t measured = 0; /* qc_doc_encoded_size counts what the encoder would write */
	MUST(qc_doc_encoded_size(a, &measured) == QC_OK && measured == state_len);
	MUST(qc_doc_content_bytes(a) <= measured + (size_t)size); /* no underflow: content is in the state or pending */
	MUST(qc_update_validate(state, state_len) == QC_OK);
	MUST(qc_doc_encode_state(a, sa.sv, sa.sv_len, &diff, &diff_len) == QC_OK);
	MUST(qc_update_validate(diff, diff_len) == QC_OK);

	qc_doc_opts ob = o;
	ob.max_pending_bytes = 0;
	qc_doc *b = qc_doc_new(&ob);
	MUST(b);
	int rc = qc_doc_apply_update(b, state, state_len);
	/* the only acceptable refusal: more pending data than b may buffer */
	MUST(rc == QC_OK || rc == QC_ERR_PENDING);
	if (rc == QC_OK) {
		uint8_t *sb_state = NULL;
		size_t sb_len = 0;
		MUST(qc_doc_encode_state(b, NULL, 0, &sb_state, &sb_len) == QC_OK);
		take(b, &sb);
		if (qc_doc_pending_bytes(a) == 0) {
			/* The encoding is canonical (clients descending, structs in clock
			 * order, merged delete set): a reload re-encodes byte for byte.
			 * (JSON is not compared here: roots and map keys are listed in
			 * first-seen order, which a reload sees in encoding order.) */
			if ((sb_len != state_len || memcmp(sb_state, state, state_len) != 0) &&
			    !reload_only_deletes_more(&ob, state, state_len, sb_state, sb_len)) {
				fprintf(stderr, "fuzz_doc: round trip differs\n  a: %.*s\n  b: %.*s\n", (int)sa.json_len,
					sa.json, (int)sb.json_len, sb.json);
				abort();
			}
			MUST(sa.sv_len == sb.sv_len && memcmp(sa.sv, sb.sv, sa.sv_len) == 0);
		} else {
			/* With pending structs, garbage input can make a reload integrate
			 * what a kept pending; it must never know less. */
			qc_sv va, vb;
			MUST(qc_sv_decode(sa.sv, sa.sv_len, &va) == QC_OK);
			MUST(qc_sv_decode(sb.sv, sb.sv_len, &vb) == QC_OK);
			for (size_t k = 0; k < va.n; k++)
				MUST(qc_sv_get(&vb, va.entries[k].client) >= va.entries[k].clock);
			qc_sv_free(&va);
			qc_sv_free(&vb);
		}
		/* b's JSON survives a second round trip unchanged (same order
		 * now), loaded as the server loads a stored document */
		qc_doc *c = qc_doc_new(&ob);
		MUST(c && qc_doc_load(c, sb_state, sb_len) == QC_OK);
		snap sc;
		take(c, &sc);
		MUST(same(&sb, &sc));
		drop(c, &sc);
		if (qc_doc_pending_bytes(b) == 0) {
			uint8_t *sc_state = NULL;
			size_t sc_len = 0;
			MUST(qc_doc_encode_state(c, NULL, 0, &sc_state, &sc_len) == QC_OK);
			MUST(sc_len == sb_len && memcmp(sc_state, sb_state, sb_len) == 0);
			qc_free(c, sc_state);
		}
		qc_doc_free(c);
		drop(b, &sb);
		/* what a already has, b already has: applying the diff changes nothing */
		MUST(qc_doc_apply_update(b, diff, diff_len) == QC_OK);
		uint8_t *after = NULL;
		size_t after_len = 0;
		MUST(qc_doc_encode_state(b, NULL, 0, &after, &after_len) == QC_OK);
		MUST(after_len == sb_len && memcmp(after, sb_state, sb_len) == 0);
		qc_free(b, after);
		qc_free(b, sb_state);
	}
	qc_free(a, state);
	qc_free(a, diff);
	drop(a, &sa);
	qc_doc_free(a);
	qc_doc_free(b);
	return 0;
}
