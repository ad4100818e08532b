/* fuzz_patch.c - libFuzzer target for PATCH request bodies.
 *
 * Each input is read as a JSON document (as the HTTP layer would, depth
 * limited) and applied as a PatchOp to a sample user and, with the member
 * delta, to a sample group; a result that applies is then normalised as
 * the server would before writing it. Nothing may crash, leak or trip a
 * sanitizer, and every failure must be a 4xx with a scimType.
 *
 * Built and run by tests/fuzz/run.sh. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "patch.h"
#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sample_user[] =
	"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
	"\"id\":\"u1\",\"userName\":\"bjensen@example.com\",\"active\":true,"
	"\"name\":{\"givenName\":\"Barbara\",\"familyName\":\"Jensen\"},"
	"\"emails\":[{\"value\":\"b@example.com\",\"type\":\"work\","
	"\"primary\":true},{\"value\":\"b@home.org\",\"type\":\"home\"}],"
	"\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
	"{\"department\":\"Ops\",\"manager\":{\"value\":\"m1\"}},"
	"\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"1\\\"\"}}";

static const char sample_group[] =
	"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
	"\"id\":\"g1\",\"displayName\":\"Admins\","
	"\"meta\":{\"resourceType\":\"Group\",\"version\":\"W/\\\"1\\\"\"}}";

static void check_err(const scim_error *err)
{
	/* Bad input is a client error with a type, never a crash or 500. */
	if (err->status < 400 || err->status >= 500 || err->scim_type == NULL)
		abort();
}

static void one(const scim_restype *rt, const char *sample, const json_t *body,
		int group)
{
	json_t *res = json_loads(sample, 0, NULL);
	scim_member_delta d;
	scim_error err;

	scim_member_delta_init(&d);
	if (scim_patch_apply(rt, res, body, group ? &d : NULL, &err) == 0) {
		if (scim_resource_normalize(rt, res, SCIM_NORM_PATCHED, NULL,
					    &err) < 0)
			check_err(&err);
	} else {
		check_err(&err);
	}
	scim_member_delta_clear(&d);
	json_decref(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body;

	if (size > 65536)
		return 0;
	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
			  NULL);
	if (body == NULL)
		return 0;
	one(scim_restype_user(), sample_user, body, 0);
	one(scim_restype_group(), sample_group, body, 1);
	json_decref(body);
	return 0;
}
