/* fuzz_filter.c - libFuzzer target for the filter and path parsers.
 *
 * Each input is parsed as a filter on Users and on Groups; what parses is
 * matched against a fixed sample resource, visited, asked for an index
 * hint and freed. The input is also parsed as an attribute path. Nothing
 * may crash, leak or trip a sanitizer.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iinclude -Iengine \
 *     engine/scim_error.c engine/strutil.c engine/schema.c \
 *     engine/schema_data.c engine/filter.c engine/scim_path.c \
 *     tests/fuzz/fuzz_filter.c $(pkg-config --cflags --libs jansson) \
 *     -o fuzz_filter
 *   ./fuzz_filter -max_len=4200 tests/fuzz/corpus/filter
 *
 * Built with -DFUZZ_STANDALONE (any compiler, no libFuzzer) it runs the
 * files named on the command line once each, to replay a corpus or a
 * crash. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "filter.h"
#include "scim_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sample_user[] =
	"{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
	" \"id\": \"2819c223-7f76-453a-919d-413861904646\","
	" \"externalId\": \"bjensen\", \"userName\": \"bjensen@example.com\","
	" \"name\": {\"familyName\": \"Jensen\", \"givenName\": "
	"\"B\\u00e4rbara\"},"
	" \"title\": \"Tour Guide\", \"active\": true, \"loginCount\": 42,"
	" \"emails\": [{\"value\": \"bjensen@example.com\", \"type\": \"work\","
	" \"primary\": true}, {\"value\": \"babs@jensen.org\", \"type\": "
	"\"home\"},"
	" null, [\"odd\"], \"bare\"],"
	" \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
	" {\"department\": \"Tour Operations\", \"employeeNumber\": \"701984\","
	" \"manager\": {\"value\": \"26118915\"}},"
	" \"members\": [{\"value\": \"2819c223\", \"type\": \"User\"}],"
	" \"displayName\": \"Tour Guides\","
	" \"meta\": {\"lastModified\": \"2011-05-13T04:42:34Z\","
	" \"created\": \"not a date\", \"version\": \"W/\\\"1\\\"\"}}";

static void count_cb(const scim_filter_cmp *cmp, void *payload)
{
	size_t *n = payload;

	if (cmp->attr != NULL)
		(*n) += strlen(cmp->attr);
	(*n)++;
}

static void one(const scim_restype *rt, const char *text, size_t len,
		const json_t *res)
{
	scim_filter *f = NULL;
	scim_path *p = NULL;
	scim_error err;
	const char *a, *v;
	size_t n = 0;

	scim_error_clear(&err);
	if (scim_filter_parse(&f, rt, text, &err) == 0) {
		(void)scim_filter_match(f, res);
		scim_filter_visit(f, count_cb, &n);
		if (scim_filter_index_hint(f, &a, &v) && (!a || !v))
			abort();
		scim_filter_free(f);
	} else if (f != NULL || err.status == 0) {
		abort();
	}
	scim_error_clear(&err);
	if (scim_path_parse_n(&p, rt, text, len, &err) == 0) {
		json_t *copy = json_deep_copy(res);

		(void)scim_path_container_key(p);
		(void)scim_path_container(p, copy, true);
		json_decref(copy);
		scim_path_free(p);
	} else if (p != NULL || err.status == 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *res;
	char *text;

	if (res == NULL) {
		res = json_loads(sample_user, 0, NULL);
		if (res == NULL)
			abort();
	}
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* the filter is what precedes any NUL; the path gets all bytes */
	one(scim_restype_user(), text, size, res);
	one(scim_restype_group(), text, size, res);
	free(text);
	return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		uint8_t *buf;
		long len;

		if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 ||
		    (len = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
			perror(argv[i]);
			return 1;
		}
		buf = malloc((size_t)len + 1);
		if (buf == NULL ||
		    fread(buf, 1, (size_t)len, fp) != (size_t)len) {
			perror(argv[i]);
			return 1;
		}
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
	}
	return 0;
}
#endif
