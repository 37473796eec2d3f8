/* Renderings under allocation failure: qc_doc_root_json / qc_doc_json of an
 * XML fragment (elements with attributes of every value kind, XmlText with
 * formats whose values are objects, arrays, strings, numbers, embeds and
 * nested elements) and of maps, arrays and text, with the Nth allocation
 * failing for every N the unfailed rendering makes. Each call must either
 * give exactly the unfailed output or return QC_ERR_NOMEM with no output;
 * a silently dropped error shows up as a different string.
 *
 * Allocations are counted and failed below the library: this program is
 * linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (see
 * CMakeLists.txt), so both the doc's allocator (the counting one from
 * tests/common, for the leak check of what the doc hands out) and the plain
 * malloc scratch buffers of the renderers go through the wrappers. libc-level
 * leaks are LeakSanitizer's job (run it in the ASan build). */
#include <quire/doc.h>
#include <quire/lib0.h>

#include "../t.h"
#include "quire/counted.h"

/* ---- failing allocator ---------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static int armed;	       /* count (and maybe fail) allocations */
static unsigned long calls;    /* allocations while armed */
static unsigned long fail_at;  /* 1-based; 0: never fail */
static unsigned long failures; /* allocations refused */

static int refuse(void)
{
	if (!armed)
		return 0;
	calls++;
	if (fail_at && calls == fail_at) {
		failures++;
		return 1;
	}
	return 0;
}

void *__wrap_malloc(size_t n) { return refuse() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return refuse() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return refuse() ? NULL : __real_realloc(p, n); }

/* ---- documents (made with yjs 13.6.33, Y.encodeStateAsUpdate) -------------- */

/* d.clientID = 7; x = d.getXmlFragment('x'); x.insert(0, [p, t2]) with
 *   p = <P> with attributes class 'c1', data-obj {a:1}, data-arr
 *     [1,'two',[3,4]], data-num 2.5, data-type a Y.XmlElement <Sub
 *     s={o:1}> holding XmlText 'sv' {f:{g:2}}, data-x 'first' then
 *     'second "q"', and children [t, <Quote k={n:{m:1}}>inner</Quote>];
 *   t = XmlText 'hello ' {bold:true}, 'world' {link:{href:'u',t:1,a:[1,2]},
 *     em:[1,'a',null], span:'abc'}, '!' {bold:true,size:12}, embed {img:1}
 *     {bold:true,u:{v:[true]}}, 'tail', then format(0, 3, {i:{}});
 *   t2 = XmlText with embed <em>emtext</em> {b:{c:'d'}}, then 'z' {h:[1]}. */
static const char xml_update[] =
	"0133070007010178030150870700062800070005636c61737301770263312800070008646174612d6f626a0176010161"
	"7d012800070008646174612d6172720175037d01770374776f75027d037d042800070008646174612d6e756d017c4020"
	"00002700070009646174612d747970650303537562280007060173017601016f7d010700070606060007080166077b22"
	"67223a327d84070902737686070b0166046e756c6c2100070006646174612d7801a8070d01770a7365636f6e64202271"
	"22070007000687070f030551756f74650600070f04626f6c6404747275658407110368656c840714036c6f2086071704"
	"626f6c64046e756c6c860718046c696e6b1c7b2268726566223a2275222c2274223a312c2261223a5b312c325d7d8607"
	"1902656d0c5b312c2261222c6e756c6c5d86071a047370616e05226162632284071b05776f726c64860720046c696e6b"
	"046e756c6c86072102656d046e756c6c860722047370616e046e756c6c86072304626f6c640474727565860724047369"
	"7a65023132840725012186072604626f6c64046e756c6c8607270473697a65046e756c6cc60726072701750c7b227622"
	"3a5b747275655d7dc6072907270473697a65046e756c6cc5072a0727097b22696d67223a317dc6072b07270175046e75"
	"6c6cc6072c07270473697a65023132c4072b072c047461696c4607110169027b7dc6071407150169046e756c6c280007"
	"10016b017601016e7601016d7d0107000710060400073505696e6e6572060007010162097b2263223a2264227d87073b"
	"0302656d86073c0162046e756c6c0700073c060400073e06656d7465787486073d0168035b315d840745017a86074601"
	"68046e756c6c0107010d01";
/* x.toString() in yjs, as JSON */
static const char xml_json[] =
	"\"<p class=\\\"c1\\\" data-arr=\\\"1,two,3,4\\\" data-num=\\\"2.5\\\" "
	"data-obj=\\\"[object Object]\\\" data-type=\\\"<sub s=\\\"[object Object]\\\"><f "
	"g=\\\"2\\\">sv</f></sub>\\\" data-x=\\\"second "
	"\\\"q\\\"\\\"><bold><i>hel</i></bold><bold>lo </bold><em 0=\\\"1\\\" 1=\\\"a\\\" "
	"2=\\\"null\\\"><link a=\\\"1,2\\\" href=\\\"u\\\" t=\\\"1\\\"><span 0=\\\"a\\\" "
	"1=\\\"b\\\" 2=\\\"c\\\">world</span></link></em><bold><size>!</size></bold><bold><u "
	"v=\\\"true\\\">[object Object]</u></bold><bold><u v=\\\"true\\\">tail</u></bold><quote "
	"k=\\\"[object Object]\\\">inner</quote></p><b c=\\\"d\\\"><em>emtext</em></b><h "
	"0=\\\"1\\\">z</h>\"";

/* d.clientID = 9; map m: b {z:1,10:'ten',2:[1,{y:null}],a:'x'}, '7'
 * Uint8Array [1,2,250], a 'str "q"\n', nested Y.Map {q:[true,false]};
 * array a: [1,'two',null,{k:[1.5,-0,1e21]}, Y.Array ['n',2]]; text t:
 * 'text ' {bold:true}, embed {e:1}, 'more'. */
static const char values_update[] =
	"010d09002801016d0162017604013275027d01760101797e023130770374656e017a7d0101617701782301016d013703"
	"0102fa2801016d0161017708737472202271220a08010161047d01770374776f7e7601016b75037c3fc000007d407b44"
	"4b1ae4d6e2ef5087090600080009070277016e7d022701016d066e6573746564012800090a0171017502787906010174"
	"04626f6c64047472756584090c05746578742086091104626f6c64046e756c6c850912077b2265223a317d840913046d"
	"6f726500";
/* d.toJSON() in yjs */
static const char values_json[] =
	"{\"m\":{\"7\":{\"0\":1,\"1\":2,\"2\":250},\"b\":{\"2\":[1,{\"y\":null}],\"10\":\"ten\",\"z\":1,\"a\":"
	"\"x\"},\"a\":\"str \\\"q\\\"\\n\",\"nested\":{\"q\":[true,false]}},\"a\":[1,\"two\",null,{\"k\":[1.5,0,"
	"1e+21]},[\"n\",2]],\"t\":\"text more\"}";

static qc_counted mem;

static qc_doc *load(const char *hex)
{
	qc_alloc al = {qc_counted_malloc, qc_counted_realloc, qc_counted_free, &mem};
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = 1000;
	o.alloc = &al;
	qc_doc *d = qc_doc_new(&o);
	if (!d)
		abort();
	size_t n;
	uint8_t *u = t_hex(hex, &n);
	CHECK_EQ_INT(qc_doc_apply_update(d, u, n), QC_OK);
	free(u);
	return d;
}

/* root NULL: qc_doc_json */
static int render(const qc_doc *d, const char *root, char **out, size_t *len)
{
	return root ? qc_doc_root_json(d, root, out, len) : qc_doc_json(d, out, len);
}

static void render_failing(const char *hex, const char *root, const char *expect)
{
	qc_doc *d = load(hex);

	/* unfailed: the yjs rendering, and how many allocations it takes */
	char *ref = NULL;
	size_t ref_len = 0;
	armed = 1, calls = 0, fail_at = 0;
	int rc = render(d, root, &ref, &ref_len);
	armed = 0;
	unsigned long total = calls;
	CHECK_EQ_INT(rc, QC_OK);
	CHECK(ref && strcmp(ref, expect) == 0);
	if (rc != QC_OK || !ref || strcmp(ref, expect) != 0) {
		fprintf(stderr, "  got:    %s\n  expect: %s\n", ref ? ref : "(null)", expect);
		qc_doc_free(d);
		return;
	}
	CHECK(total > 3); /* the test means something only if there are steps */
	size_t live = mem.live; /* the doc and ref */

	unsigned long nomem = 0, same = 0, bad = 0;
	for (unsigned long k = 1; k <= total + 1; k++) {
		char *out = NULL;
		size_t len = (size_t)-1;
		armed = 1, calls = 0, fail_at = k, failures = 0;
		rc = render(d, root, &out, &len);
		armed = 0;
		if (rc == QC_ERR_NOMEM && !out && failures == 1) {
			nomem++;
		} else if (rc == QC_OK && out && len == ref_len && memcmp(out, ref, len + 1) == 0) {
			same++;
		} else {
			bad++;
			fprintf(stderr, "%s: allocation %lu of %lu failing: rc %d, failures %lu, output %s\n", T_CTX(),
				k, total, rc, failures, out ? out : "(none)");
		}
		if (out)
			qc_free(d, out);
		CHECK_EQ_INT(mem.live, live); /* nothing the doc allocated is kept */
	}
	CHECK_EQ_INT(bad, 0);
	/* the last round fails nothing; every other one fails an allocation the
	 * rendering needs, so it must report it */
	CHECK_EQ_INT(same, 1);
	CHECK_EQ_INT(nomem, total);
	if (bad == 0 && nomem == total)
		printf("  %s: %lu allocations, each failing one gives QC_ERR_NOMEM\n", T_CTX(), total);

	qc_free(d, ref);
	qc_doc_free(d);
	CHECK_EQ_INT(mem.live, 0);
}

/* The update event under allocation failure: qc_doc_take_event must either
 * hand over exactly the unfailed event, or return QC_ERR_NOMEM with nothing
 * and keep the event, so that the next call (nothing failing) gives it. A
 * server stores what this hands over: an event lost without an error would
 * leave the document holding what the store never got. */
static void event_failing(const char *hex)
{
	qc_doc *d = load(hex); /* its apply left the event pending */
	uint8_t *ref = NULL;
	size_t ref_len = 0;
	armed = 1, calls = 0, fail_at = 0;
	int rc = qc_doc_take_event(d, &ref, &ref_len);
	armed = 0;
	unsigned long total = calls;
	CHECK_EQ_INT(rc, QC_OK);
	CHECK(ref && ref_len > 2);
	CHECK(total >= 2); /* the encoder's buffer and the handed-over copy */
	if (rc != QC_OK || !ref) {
		qc_doc_free(d);
		return;
	}
	uint8_t *taken = ref;
	ref = malloc(ref_len);
	if (!ref)
		abort();
	memcpy(ref, taken, ref_len);
	qc_free(d, taken);
	qc_doc_free(d);

	unsigned long nomem = 0, same = 0, bad = 0;
	for (unsigned long k = 1; k <= total + 1; k++) {
		d = load(hex);
		uint8_t *out = (uint8_t *)1;
		size_t len = 1;
		armed = 1, calls = 0, fail_at = k, failures = 0;
		rc = qc_doc_take_event(d, &out, &len);
		armed = 0;
		if (rc == QC_ERR_NOMEM && !out && len == 0 && failures == 1) {
			size_t n0;
			CHECK(qc_doc_last_update(d, &n0) != NULL && n0 == ref_len); /* kept */
			rc = qc_doc_take_event(d, &out, &len);
			if (rc == QC_OK && out && len == ref_len && memcmp(out, ref, len) == 0)
				nomem++;
			else
				bad++;
		} else if (rc == QC_OK && out && len == ref_len && memcmp(out, ref, len) == 0) {
			same++;
		} else {
			bad++;
			fprintf(stderr, "%s: allocation %lu of %lu failing: rc %d, failures %lu\n", T_CTX(), k, total, rc,
				failures);
		}
		if (out && out != (uint8_t *)1)
			qc_free(d, out);
		/* taken: nothing is left to take */
		CHECK_EQ_INT(qc_doc_take_event(d, &out, &len), QC_OK);
		CHECK(!out && len == 0);
		qc_doc_free(d);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(same, 1);
	CHECK_EQ_INT(nomem, total);
	if (bad == 0 && nomem == total)
		printf("  %s: %lu allocations, each failing one gives QC_ERR_NOMEM and keeps the event\n", T_CTX(), total);
	free(ref);
	CHECK_EQ_INT(mem.live, 0);
}

int main(void)
{
	t_current = "xml root";
	render_failing(xml_update, "x", xml_json);
	t_current = "xml doc";
	{
		char *whole = malloc(sizeof xml_json + 16);
		if (!whole)
			abort();
		snprintf(whole, sizeof xml_json + 16, "{\"x\":%s}", xml_json);
		render_failing(xml_update, NULL, whole);
		free(whole);
	}
	t_current = "values doc";
	render_failing(values_update, NULL, values_json);
	t_current = "map root";
	{
		/* the "m" member of values_json */
		const char *m = strstr(values_json, "{\"7\"");
		const char *end = strstr(values_json, "}},\"a\":[");
		char *s = malloc((size_t)(end - m) + 3);
		if (!m || !end || !s)
			abort();
		memcpy(s, m, (size_t)(end - m) + 2);
		s[end - m + 2] = 0;
		render_failing(values_update, "m", s);
		free(s);
	}
	t_current = "update event";
	event_failing(values_update);
	t_current = NULL;
	printf("test_doc_oom: %d checks, %d failures\n", t_checks, t_failures);
	return t_failures ? 1 : 0;
}
