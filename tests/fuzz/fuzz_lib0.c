/* libFuzzer target: lib0 readers never over-read, values re-encode to
 * something that decodes to the same value, state vectors round-trip. */
#include "quire/lib0.h"
#include "quire/update.h"

#include "must.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void roundtrip_varuint(uint64_t v)
{
	qc_enc e;
	qc_dec d;
	uint64_t w;
	qc_enc_init(&e);
	qc_write_varuint(&e, v);
	MUST(qc_enc_ok(&e) && e.len <= 8);
	qc_dec_init(&d, e.data, e.len);
	MUST(qc_read_varuint(&d, &w) == QC_OK && w == v && qc_dec_left(&d) == 0);
	qc_enc_free(&e);
}

static void roundtrip_varint(int64_t v, int negz)
{
	qc_enc e;
	qc_dec d;
	int64_t w;
	int nz;
	qc_enc_init(&e);
	if (negz)
		qc_write_varint_sm(&e, 0, 1);
	else
		qc_write_varint(&e, v);
	qc_dec_init(&d, e.data, e.len);
	MUST(qc_read_varint(&d, &w, &nz) == QC_OK && w == v && nz == negz && qc_dec_left(&d) == 0);
	qc_enc_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	qc_dec d;
	qc_dec_init(&d, data, size);
	/* walk the input as a stream of tagged primitives */
	while (qc_dec_left(&d) > 0) {
		const uint8_t *before = d.p;
		uint8_t op = *d.p++;
		int rc = QC_OK;
		switch (op % 5) {
		case 0: {
			uint64_t v;
			rc = qc_read_varuint(&d, &v);
			if (rc == QC_OK) {
				MUST(v <= QC_MAX_SAFE_INT);
				roundtrip_varuint(v);
			}
			break;
		}
		case 1: {
			int64_t v;
			int nz;
			rc = qc_read_varint(&d, &v, &nz);
			if (rc == QC_OK)
				roundtrip_varint(v, nz);
			break;
		}
		case 2: {
			const char *s;
			size_t n;
			rc = qc_read_varstring(&d, &s, &n);
			if (rc == QC_OK) {
				MUST(qc_utf8_valid((const uint8_t *)s, n));
				MUST(qc_utf16_len((const uint8_t *)s, n) <= n);
			}
			break;
		}
		case 3: {
			const uint8_t *p;
			size_t n;
			rc = qc_read_varbytes(&d, &p, &n);
			if (rc == QC_OK) {
				MUST(p >= data && p + n <= data + size);
				(void)qc_utf8_valid(p, n);
			}
			break;
		}
		default: {
			uint8_t b;
			rc = qc_read_u8(&d, &b);
			break;
		}
		}
		MUST(d.p >= before && d.p <= d.end);
		if (rc != QC_OK)
			break;
	}

	/* state vector decode/encode round trip */
	qc_sv sv;
	if (qc_sv_decode(data, size, &sv) == QC_OK) {
		uint8_t *enc = NULL;
		size_t en = 0;
		MUST(qc_sv_encode(&sv, &enc, &en) == QC_OK);
		qc_sv sv2;
		MUST(qc_sv_decode(enc, en, &sv2) == QC_OK);
		MUST(sv2.n == sv.n);
		for (size_t i = 0; i < sv.n; i++) {
			MUST(sv.entries[i].client == sv2.entries[i].client);
			MUST(sv.entries[i].clock == sv2.entries[i].clock);
			MUST(qc_sv_get(&sv, sv.entries[i].client) == sv.entries[i].clock);
			if (i > 0)
				MUST(sv.entries[i - 1].client > sv.entries[i].client);
		}
		free(enc);
		qc_sv_free(&sv2);
		qc_sv_free(&sv);
	}
	return 0;
}
