/* Update v1 encoding: re-encoding structs (with offset/sliced writes) and
 * the lazy struct writer that groups them into client sections. */
#include "update_internal.h"

#include <string.h>

void qc_st_slice(qc_st *s, uint64_t d)
{
	s->clock += d;
	s->len -= d;
	if (s->kind == QC_ST_ITEM)
		s->off += d;
}

static size_t utf8_width(uint8_t c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* Write the varString holding s minus its first off UTF-16 units. Cutting a
 * surrogate pair leaves a lone low surrogate, which TextEncoder (and Yjs's
 * ContentString.splice) turn into U+FFFD. */
static void write_string_from(qc_enc *e, const uint8_t *s, size_t n, uint64_t off)
{
	size_t i = 0;
	uint64_t units = 0;
	int replace = 0;
	while (i < n && units < off) {
		size_t w = utf8_width(s[i]);
		uint64_t u = w == 4 ? 2 : 1;
		if (w > n - i)
			w = n - i; /* cannot happen on validated input */
		if (units + u > off) {
			replace = 1;
			units = off;
			i += w;
			break;
		}
		units += u;
		i += w;
	}
	if (replace) {
		static const uint8_t fffd[3] = {0xef, 0xbf, 0xbd};
		qc_write_varuint(e, (uint64_t)(n - i) + 3);
		qc_write_bytes(e, fffd, 3);
		qc_write_bytes(e, s + i, n - i);
	} else {
		qc_write_varbytes(e, s + i, n - i);
	}
}

static int copy_varstring(qc_dec *d, qc_enc *e)
{
	const char *s;
	size_t n;
	int rc = qc_read_varstring(d, &s, &n);
	if (rc == 0 && e)
		qc_write_varstring(e, s, n);
	return rc;
}

static int write_content(qc_enc *e, const qc_st *st)
{
	qc_dec d;
	uint64_t v, off = st->off;
	int rc;
	qc_dec_init(&d, st->content, (size_t)(st->content_end - st->content));
	switch (st->ref) {
	case 1: /* Deleted */
		if ((rc = qc_read_varuint(&d, &v)))
			return rc;
		qc_write_varuint(e, v - off);
		return QC_OK;
	case 2: /* JSON: drop the first off entries */
	case 8: /* Any: likewise */
		if ((rc = qc_read_varuint(&d, &v)))
			return rc;
		qc_write_varuint(e, v - off);
		for (uint64_t i = 0; i < v; i++) {
			qc_enc *out = i >= off ? e : NULL;
			rc = st->ref == 2 ? copy_varstring(&d, out) : qc_any_copy(&d, out, 0);
			if (rc)
				return rc;
		}
		return QC_OK;
	case 3: { /* Binary */
		const uint8_t *p;
		size_t n;
		if ((rc = qc_read_varbytes(&d, &p, &n)))
			return rc;
		qc_write_varbytes(e, p, n);
		return QC_OK;
	}
	case 4: { /* String */
		const char *s;
		size_t n;
		if ((rc = qc_read_varstring(&d, &s, &n)))
			return rc;
		write_string_from(e, (const uint8_t *)s, n, off);
		return QC_OK;
	}
	case 5: /* Embed */
		return copy_varstring(&d, e);
	case 6: /* Format */
		if ((rc = copy_varstring(&d, e)))
			return rc;
		return copy_varstring(&d, e);
	case 7: /* Type */
		if ((rc = qc_read_varuint(&d, &v)))
			return rc;
		qc_write_varuint(e, v);
		if (v == 3 || v == 5)
			return copy_varstring(&d, e);
		return QC_OK;
	case 9: /* Doc */
		if ((rc = copy_varstring(&d, e)))
			return rc;
		return qc_any_copy(&d, e, 0);
	default:
		return QC_ERR_INVALID;
	}
}

static int write_struct(qc_enc *e, const qc_st *st)
{
	if (st->kind == QC_ST_GC || st->kind == QC_ST_SKIP) {
		qc_write_u8(e, st->kind == QC_ST_GC ? 0 : 10);
		qc_write_varuint(e, st->len);
		return QC_OK;
	}
	int has_origin = st->off > 0 || st->has_origin;
	uint64_t oc = st->oc, ok = st->ok;
	if (st->off > 0) {
		oc = st->client;
		ok = st->clock - 1;
	}
	uint8_t info = (uint8_t)(st->ref | (has_origin ? 0x80 : 0) | (st->has_right ? 0x40 : 0) |
				 (st->has_psub ? 0x20 : 0));
	qc_write_u8(e, info);
	if (has_origin) {
		qc_write_varuint(e, oc);
		qc_write_varuint(e, ok);
	}
	if (st->has_right) {
		qc_write_varuint(e, st->rc);
		qc_write_varuint(e, st->rk);
	}
	if (!has_origin && !st->has_right) {
		if (st->parent_kind == 1) {
			qc_write_varuint(e, 1);
			qc_write_varbytes(e, st->pname, st->pname_n);
		} else if (st->parent_kind == 2) {
			qc_write_varuint(e, 0);
			qc_write_varuint(e, st->pc);
			qc_write_varuint(e, st->pk);
		} else {
			return QC_ERR_INVALID; /* unreachable: parent always read here */
		}
		if (st->has_psub)
			qc_write_varbytes(e, st->psub, st->psub_n);
	}
	return write_content(e, st);
}

/* ---- lazy struct writer ------------------------------------------------ */

void qc_lw_init(qc_lw *w)
{
	memset(w, 0, sizeof(*w));
	qc_enc_init(&w->body);
	qc_enc_init(&w->all);
}

void qc_lw_free(qc_lw *w)
{
	qc_enc_free(&w->body);
	qc_enc_free(&w->all);
}

static void lw_flush(qc_lw *w)
{
	if (w->written > 0) {
		qc_write_varuint(&w->all, w->written);
		qc_write_bytes(&w->all, w->body.data, w->body.len);
		if (w->body.oom)
			w->all.oom = 1;
		w->body.len = 0;
		w->nsections++;
		w->written = 0;
	}
}

int qc_lw_write(qc_lw *w, const qc_st *s)
{
	if (w->written > 0 && w->cur_client != s->client)
		lw_flush(w);
	if (w->written == 0) {
		w->cur_client = s->client;
		qc_write_varuint(&w->body, s->client);
		qc_write_varuint(&w->body, s->clock);
	}
	int rc = write_struct(&w->body, s);
	if (rc)
		return rc;
	w->written++;
	return qc_enc_ok(&w->body) ? QC_OK : QC_ERR_NOMEM;
}

int qc_lw_finish(qc_lw *w, qc_enc *out)
{
	lw_flush(w);
	qc_write_varuint(out, w->nsections);
	qc_write_bytes(out, w->all.data, w->all.len);
	if (w->all.oom)
		out->oom = 1;
	return qc_enc_ok(out) ? QC_OK : QC_ERR_NOMEM;
}
