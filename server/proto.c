#include "proto.h"

#include "quire/lib0.h"

#include <stdlib.h>
#include <string.h>

int proto_parse(const uint8_t *p, size_t n, proto_msg_t *m)
{
	qc_dec d;
	qc_dec_init(&d, p, n);
	uint64_t type;
	memset(m, 0, sizeof *m);
	if (qc_read_varuint(&d, &type) != QC_OK)
		return PROTO_MALFORMED;
	switch (type) {
	case MSG_SYNC: {
		uint64_t st;
		if (qc_read_varuint(&d, &st) != QC_OK)
			return PROTO_MALFORMED;
		if (st > SYNC_UPDATE)
			return PROTO_UNKNOWN;
		if (qc_read_varbytes(&d, &m->payload, &m->len) != QC_OK || qc_dec_left(&d) != 0)
			return PROTO_MALFORMED;
		m->sync_type = (unsigned)st;
		break;
	}
	case MSG_AWARENESS:
		if (qc_read_varbytes(&d, &m->payload, &m->len) != QC_OK || qc_dec_left(&d) != 0)
			return PROTO_MALFORMED;
		break;
	case MSG_AUTH:
		m->payload = d.p;
		m->len = qc_dec_left(&d);
		break;
	case MSG_QUERY_AWARENESS:
		/* the body is empty; tolerate (ignore) trailing bytes as y-protocols does */
		break;
	default:
		return PROTO_UNKNOWN;
	}
	m->type = (unsigned)type;
	return PROTO_OK;
}

static uint8_t *finish(qc_enc *e, size_t *out_len)
{
	if (!qc_enc_ok(e)) {
		qc_enc_free(e);
		return NULL;
	}
	return qc_enc_take(e, out_len);
}

uint8_t *proto_sync(unsigned sync_type, const uint8_t *payload, size_t len, size_t *out_len)
{
	qc_enc e;
	qc_enc_init(&e);
	qc_write_varuint(&e, MSG_SYNC);
	qc_write_varuint(&e, sync_type);
	qc_write_varbytes(&e, payload, len);
	return finish(&e, out_len);
}

uint8_t *proto_awareness(const uint8_t *update, size_t len, size_t *out_len)
{
	qc_enc e;
	qc_enc_init(&e);
	qc_write_varuint(&e, MSG_AWARENESS);
	qc_write_varbytes(&e, update, len);
	return finish(&e, out_len);
}

uint8_t *proto_permission_denied(const char *reason, size_t *out_len)
{
	qc_enc e;
	qc_enc_init(&e);
	qc_write_varuint(&e, MSG_AUTH);
	qc_write_varuint(&e, 0);
	qc_write_varstring(&e, reason, strlen(reason));
	return finish(&e, out_len);
}
