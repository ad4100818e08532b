/* tmpl_bench.c - how long one LDAP user mapping takes to evaluate.
 *
 * Compiles the shipped-style inetOrgPerson templates once, renders all of
 * them N times against a typical Entra user and prints nanoseconds per
 * full mapping evaluation (all ten attributes).
 *
 *   gcc -std=c11 -O2 -D_GNU_SOURCE -I. -Iinclude -Iengine \
 *     engine/scim_error.c engine/strutil.c engine/schema.c \
 *     engine/schema_data.c engine/schema_validate.c engine/filter.c \
 *     engine/scim_path.c engine/tmpl_parse.c engine/tmpl_eval.c \
 *     engine/tmpl_filters.c contrib/bench/tmpl_bench.c \
 *     $(pkg-config --cflags --libs jansson libcrypto) -lm -o tmpl_bench
 *   ./tmpl_bench [N]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tmpl.h"

static const char *const templates[] = {
	"uid={{ userName | split: \"@\" | first | downcase }},ou=people,"
	"dc=example,dc=org",
	"{{ userName | split: \"@\" | first | downcase }}",
	"{{ name.givenName }} {{ name.familyName }}",
	"{{ name.familyName | default: userName }}",
	"{{ name.givenName }}",
	"{{ displayName | default: name.formatted }}",
	"{{ emails[type eq \"work\"].value | default: userName | downcase }}",
	"{{ phoneNumbers[type eq \"work\"].value }}",
	"{{ urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	"employeeNumber }}",
	"{{ urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	"department }}",
};

#define NT (sizeof(templates) / sizeof(templates[0]))

static const char entra_user[] =
	"{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\","
	" \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
	" \"externalId\": \"0a21f0f2-8d2a-4f8e-bf98-7a5b6f3c2d11\","
	" \"userName\": \"adele.vance@contoso.com\", \"active\": true,"
	" \"displayName\": \"Adele Vance\", \"title\": \"Retail Manager\","
	" \"name\": {\"givenName\": \"Adele\", \"familyName\": \"Vance\","
	" \"formatted\": \"Adele Vance\"},"
	" \"emails\": [{\"value\": \"AdeleV@contoso.com\", \"type\": \"work\","
	" \"primary\": true}, {\"value\": \"adele@example.org\", \"type\":"
	" \"other\"}],"
	" \"phoneNumbers\": [{\"value\": \"+1 425 555 0109\", \"type\":"
	" \"work\"}, {\"value\": \"+1 425 555 0110\", \"type\": \"mobile\"}],"
	" \"addresses\": [{\"type\": \"work\", \"streetAddress\": \"18/2111\","
	" \"locality\": \"Tulsa\", \"region\": \"OK\", \"postalCode\": "
	"\"74133\","
	" \"country\": \"US\", \"primary\": true}],"
	" \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
	" {\"employeeNumber\": \"701984\", \"department\": \"Retail\","
	" \"manager\": {\"value\": \"26118915-6090-4610-87e4-49d8ca9f808d\"}}}";

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000, i;
	tmpl *t[NT];
	tmpl_error err;
	json_t *user = json_loads(entra_user, 0, NULL), *ev, *out;
	size_t k, values = 0;
	double t0, t1;

	ev = json_pack("{s:s}", "type", "create");
	if (user == NULL || ev == NULL || n <= 0)
		return 1;
	for (k = 0; k < NT; k++) {
		if (tmpl_compile(&t[k], templates[k], strlen(templates[k]),
				 scim_restype_user(), "ldap.yaml", (int)k + 1,
				 1, &err) < 0) {
			fprintf(stderr, "%s:%d:%d: %s\n", err.file, err.line,
				err.column, err.message);
			return 1;
		}
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		for (k = 0; k < NT; k++) {
			if (tmpl_render(&out, t[k], user, ev, &err) < 0)
				return 1;
			values += json_array_size(out);
			json_decref(out);
		}
	}
	t1 = now_ns();
	printf("%ld mapping evaluations (%zu templates, %zu values): "
	       "%.0f ns per mapping\n",
	       n, NT, values, (t1 - t0) / (double)n);
	for (k = 0; k < NT; k++)
		tmpl_free(t[k]);
	json_decref(user);
	json_decref(ev);
	return 0;
}
