/* The Yjs document model (YATA) in C: integrate remote updates exactly as
 * Yjs does, make local edits that produce the Yjs update they represent, and
 * read or encode the state.
 *
 * Units: every index and length in this API counts UTF-16 code units, as Yjs
 * does (JS String.length), so positions agree with every Yjs peer. Text goes in
 * and out as UTF-8. A position that would split a surrogate pair is rounded to
 * the character boundary before it (inserts) or widened to whole characters
 * (deletes/formats), so a pair is never split by a local edit.
 *
 * Errors: negative QC_ERR_* codes from quire/lib0.h. A failed call leaves the
 * document unchanged (apply validates the whole update before integrating),
 * except where qc_doc_apply_update says otherwise.
 *
 * Memory: everything returned through `uint8_t **out` / `char **out` is
 * allocated with the document's allocator (malloc by default) and released by
 * the caller with qc_free(doc, p).
 *
 * Threads: a document is not thread-safe; distinct documents are independent.
 */
#ifndef QUIRE_DOC_H
#define QUIRE_DOC_H

#include "quire/lib0.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qc_doc qc_doc;

typedef struct qc_alloc {
	void *(*malloc)(size_t size, void *ud);
	void *(*realloc)(void *p, size_t size, void *ud);
	void (*free)(void *p, void *ud);
	void *ud;
} qc_alloc;

typedef struct qc_doc_opts {
	uint64_t client_id;	  /* this replica's id for local edits (< 2^32); 0: none yet (a
				     random one is picked at the first local edit) */
	int gc;			  /* 1 (default via qc_doc_opts_default): GC deleted content like Yjs */
	size_t max_pending_bytes; /* bound on buffered not-yet-integrable updates; 0: 1 MiB */
	const qc_alloc *alloc;	  /* NULL: malloc/realloc/free */
} qc_doc_opts;

void qc_doc_opts_default(qc_doc_opts *opts);
qc_doc *qc_doc_new(const qc_doc_opts *opts); /* NULL opts: defaults; NULL on OOM */
void qc_doc_free(qc_doc *doc);
void qc_free(const qc_doc *doc, void *p);
uint64_t qc_doc_client_id(const qc_doc *doc);
/* As Yjs: if a remote update uses this replica's client id, it picks a new
 * one. The caller supplies the randomness. */
void qc_doc_set_client_id(qc_doc *doc, uint64_t client_id);

/* --- remote updates -------------------------------------------------------- */

/* Applies a v1 update. Structs whose dependencies are missing are kept
 * pending and integrated as soon as they can be. Errors:
 * - QC_ERR_PENDING: the pending set (this update's and earlier ones') passed
 *   max_pending_bytes and was dropped. The document HAS changed: what could be
 *   integrated stays integrated and is the update event (qc_doc_last_update).
 * - QC_ERR_LIMIT from reading the update (Any nested deeper than 64, clock +
 *   length above 2^53-1): refused whole, the document is unchanged.
 * - QC_ERR_LIMIT from the document's capacity (2^32-2 structs, 4 GiB of
 *   content) or QC_ERR_NOMEM, met during integration: part of the update
 *   may already be integrated (and be the update event).
 * - any other error: refused whole, the document is unchanged. */
int qc_doc_apply_update(qc_doc *doc, const uint8_t *update, size_t len);
/* qc_doc_apply_update for opening a stored document, where there is nobody
 * to send the update event to: the same document and the same errors, but
 * no event is kept (qc_doc_last_update returns NULL afterwards), and the
 * document is trimmed as by qc_doc_trim (a load grows its arrays as it
 * goes: their slack is 18% of a small document). */
int qc_doc_load(qc_doc *doc, const uint8_t *update, size_t len);
/* Gives back what the document holds beyond its content: the slack of its
 * growing arrays, the bytes of deleted text (kept until they make up a
 * large share), the update event's buffers. The document is unchanged;
 * qc_doc_last_update returns NULL afterwards. For a document that was edited
 * and has gone quiet: it costs a pass over the content. */
void qc_doc_trim(qc_doc *doc);
/* The update describing what the last qc_doc_apply_update or local edit newly
 * integrated (what Yjs emits as the 'update' event); NULL/0 if nothing
 * changed. Owned by the doc, valid until the next mutating call (or
 * qc_doc_take_last_update). Where Yjs emits two events for one remote update
 * (the update, then the deletions of its Y.Text formatting cleanup) this is
 * their merge. Encoded on first call; NULL/0 too if that runs out of memory
 * (the event is kept for another try, see qc_doc_take_event). */
const uint8_t *qc_doc_last_update(const qc_doc *doc, size_t *len);
/* The same bytes, handed over: the caller owns the buffer and releases it
 * with qc_free(doc, p) (it comes from the doc's allocator). The doc forgets
 * the event: qc_doc_last_update returns NULL until the next change. NULL/0
 * when there is no update, or when encoding it ran out of memory (then the
 * event is kept, and a later call may still give it). */
uint8_t *qc_doc_take_last_update(qc_doc *doc, size_t *len);
/* qc_doc_take_last_update that tells the two NULLs apart: QC_OK with *out
 * the update or NULL when there is none, or QC_ERR_NOMEM with *out NULL when
 * encoding it ran out of memory (the document changed, and the event is kept
 * until the next mutating call, so this may be called again). */
int qc_doc_take_event(qc_doc *doc, uint8_t **out, size_t *len);
size_t qc_doc_pending_bytes(const qc_doc *doc); /* 0 when nothing is pending */
/* Bytes of content the document holds, O(1): the text (UTF-8), values,
 * embeds, format attributes and element names of its items that are not
 * deleted. With gc on (the default) deleted content is dropped at the end of
 * each transaction, so every deletion lowers it. Left out: what a document
 * keeps for good once written, the ids of deleted items (tombstones) and
 * interned strings (map keys, root names), which qc_doc_encode_state still
 * writes. */
size_t qc_doc_content_bytes(const qc_doc *doc);
/* 1 when part of the update that the last qc_doc_apply_update (or
 * qc_doc_load) took, structs or deletions, waits in the pending set for
 * updates not received yet, also when it was already waiting there from an
 * earlier call (the same update sent again); 0 when all of it is in the
 * document, or the call failed. (Deletions: 1 while any deletion waits, if
 * some of this update's did.) */
int qc_doc_update_held(const qc_doc *doc);

/* --- encoding -------------------------------------------------------------- */

int qc_doc_state_vector(const qc_doc *doc, uint8_t **out, size_t *out_len);
/* Y.encodeStateAsUpdate(doc, sv): sv NULL means everything. Pending structs
 * and deletes are included, as Yjs does. */
int qc_doc_encode_state(const qc_doc *doc, const uint8_t *sv, size_t sv_len, uint8_t **out, size_t *out_len);
/* The length qc_doc_encode_state(doc, NULL, 0, ...) would return, measured
 * without building it (with pending structs or deletions, which it merges
 * in, it is built and freed). */
int qc_doc_encoded_size(const qc_doc *doc, size_t *size);

/* --- reading --------------------------------------------------------------- */

/* Root names in first-seen order; *names is an array of n NUL-terminated strings
 * owned by the doc, valid until the next mutating call. */
int qc_doc_roots(const qc_doc *doc, const char *const **names, size_t *n);
/* The root's text as UTF-8 (formatting dropped, embeds skipped); "" if absent. */
int qc_doc_text(const qc_doc *doc, const char *root, char **out, size_t *out_len);
/* Length of a root text/array in UTF-16 units / elements. */
uint64_t qc_doc_length(const qc_doc *doc, const char *root);
/* Declares the class of a root, as calling doc.getText(name) (or getArray,
 * getMap, getXmlFragment) does in Yjs. Roots are untyped on the wire; the
 * class fixes the JSON rendering and, for a Text, turns on Yjs's formatting
 * cleanup after remote transactions (YText only). Local text/array/map
 * edits declare their root implicitly. Declaring a root that already has
 * a different class is QC_ERR_INVALID (Yjs throws). */
enum { QC_ROOT_ARRAY = 0, QC_ROOT_MAP = 1, QC_ROOT_TEXT = 2, QC_ROOT_XML_FRAGMENT = 4 };
int qc_doc_declare_root(qc_doc *doc, const char *root, int kind);
/* JSON of one root, as Yjs's toJSON() of the type the root holds (a Text gives
 * its string, Map an object, Array an array, XmlFragment/XmlElement/XmlText
 * their Yjs toJSON strings); the type is inferred from its items when unknown:
 * map entries → object, else string content → string, else array. */
int qc_doc_root_json(const qc_doc *doc, const char *root, char **out, size_t *out_len);
/* {"root": json, ...} for every root with content, keys in first-seen order. */
int qc_doc_json(const qc_doc *doc, char **out, size_t *out_len);

/* --- local edits ------------------------------------------------------------- */
/* Each call is one transaction; on success qc_doc_last_update() holds the Yjs
 * update it produced (to send to peers). Values are JSON texts. */

int qc_text_insert(qc_doc *doc, const char *root, uint64_t index, const char *utf8, size_t len,
		   const char *attrs_json /* NULL or a JSON object */);
int qc_text_insert_embed(qc_doc *doc, const char *root, uint64_t index, const char *embed_json);
int qc_text_delete(qc_doc *doc, const char *root, uint64_t index, uint64_t len);
int qc_text_format(qc_doc *doc, const char *root, uint64_t index, uint64_t len, const char *attrs_json);
int qc_array_insert(qc_doc *doc, const char *root, uint64_t index, const char *values_json /* JSON array */);
int qc_array_delete(qc_doc *doc, const char *root, uint64_t index, uint64_t len);
int qc_map_set(qc_doc *doc, const char *root, const char *key, const char *value_json);
int qc_map_delete(qc_doc *doc, const char *root, const char *key);

/* --- observers --------------------------------------------------------------- */

typedef enum {
	QC_CHANGE_RETAIN = 0, /* text/array: skip len units */
	QC_CHANGE_INSERT = 1, /* text/array: len units inserted (text: utf8 holds them) */
	QC_CHANGE_DELETE = 2, /* text/array: len units deleted */
	QC_CHANGE_KEY = 3,    /* map: key changed (set or deleted) */
} qc_change_kind;

typedef struct qc_change {
	const char *root;
	qc_change_kind kind;
	uint64_t len;
	const char *utf8; /* INSERT into a text: the inserted text; else NULL */
	size_t utf8_len;
	const char *key; /* KEY: the map key */
} qc_change;

/* Called once per transaction that changed something, with the changes to root
 * types in document order (a delta per root); nested types report their root
 * as one entry {root, QC_CHANGE_KEY, len 0, key NULL} when the root itself did
 * not change. Called before the transaction's GC; the callback may read the
 * document but not modify it (mutating calls return QC_ERR_INVALID). */
typedef void (*qc_observer)(void *ud, const qc_change *changes, size_t n);
void qc_doc_observe(qc_doc *doc, qc_observer cb, void *ud); /* one observer; NULL cb removes */

#ifdef __cplusplus
}
#endif
#endif
