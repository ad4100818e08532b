/* fuzz_tmpl.c - libFuzzer target for the template compiler and renderer.
 *
 * Each input is compiled as a template for Users; what compiles is
 * rendered against a fixed Entra-like user and a sample event (to a value
 * list and to one string), then freed. Nothing may crash, leak, hang or
 * trip a sanitizer: renders are bounded by TMPL_MAX_STEPS/OUTPUT/VALUES.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     -Iinclude -Iengine engine/scim_error.c engine/strutil.c \
 *     engine/schema.c engine/schema_data.c engine/schema_validate.c \
 *     engine/filter.c engine/scim_path.c engine/tmpl_parse.c \
 *     engine/tmpl_eval.c engine/tmpl_filters.c tests/fuzz/fuzz_tmpl.c \
 *     $(pkg-config --cflags --libs jansson libcrypto) -lm -o fuzz_tmpl
 *   ./fuzz_tmpl -max_len=4096 -timeout=10 tests/fuzz/corpus/tmpl
 *
 * Built with -DFUZZ_STANDALONE (any compiler, no libFuzzer) it runs the
 * files named on the command line once each. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sample_user[] =
	"{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\","
	" \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
	" \"id\": \"2819c223-7f76-453a-919d-413861904646\","
	" \"externalId\": \"0a21f0f2\", \"userName\": "
	"\"Adele.Vance@contoso.com\","
	" \"name\": {\"givenName\": \"Adele\", \"familyName\": \"Vance\","
	" \"formatted\": \"Adele Vance\"}, \"displayName\": \"Adele Vance\","
	" \"active\": true, \"title\": \"Retail Manager\", \"loginCount\": 42,"
	" \"emails\": [{\"value\": \"AdeleV@contoso.com\", \"type\": \"work\","
	" \"primary\": true}, {\"value\": \"adele@example.org\", \"type\": "
	"\"other\"}, null, [\"odd\"], \"bare\"],"
	" \"phoneNumbers\": [{\"value\": \"+1 425 555 0109\", \"type\": "
	"\"work\"}],"
	" \"addresses\": [{\"type\": \"work\", \"locality\": \"Tulsa\"}],"
	" \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
	" {\"department\": \"Retail\", \"employeeNumber\": \"701984\","
	" \"manager\": {\"value\": \"26118915\"}},"
	" \"meta\": {\"created\": \"2024-03-01T10:20:30Z\","
	" \"lastModified\": \"not a date\"}}";

static const char sample_event[] =
	"{\"type\": \"update\", \"actor\": {\"name\": \"entra\"}, \"n\": 3}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *user, *event;
	tmpl_error err;
	json_t *out;
	tmpl *t;
	char *s;

	if (user == NULL) {
		user = json_loads(sample_user, 0, NULL);
		event = json_loads(sample_event, 0, NULL);
		if (user == NULL || event == NULL)
			abort();
	}
	if (tmpl_compile(&t, (const char *)data, size, scim_restype_user(),
			 "fuzz", 1, 1, &err) < 0) {
		if (err.line < 1 || err.column < 1 || err.message[0] == '\0')
			abort();
		return 0;
	}
	if (tmpl_render(&out, t, user, event, &err) == 0) {
		if (!json_is_array(out))
			abort();
		json_decref(out);
	}
	s = tmpl_render_string(t, user, NULL, &err);
	free(s);
	tmpl_free(t);
	return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		static uint8_t buf[1 << 16];
		size_t n;

		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}
#endif
