/* schema_data.c - the static schema tables of RFC 7643.
 *
 * Core User (§4.1), Group (§4.2), Enterprise User extension (§4.3) and the
 * common attributes (§3.1) as a pseudo-schema. Characteristics follow the
 * schema representations of §8.7.1 and §8.7.2; where this server departs
 * from them it says so next to the attribute:
 *   - Group displayName is required (§4.2 text says REQUIRED, §8.7.1 says
 *     false; every IdP sends it).
 *   - addresses has a `primary` sub-attribute (§4.1.2 text, missing from
 *     §8.7.1).
 *   - Group members has a readOnly `display` sub-attribute (sent by most
 *     IdPs and returned by most providers).
 *
 * Omitted initialisers are zero: singular, optional, caseExact false,
 * readWrite, returned default, uniqueness none. */
#include <stddef.h>

#include "schema.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SUBS(a) .sub_attrs = (a), .n_sub_attrs = N_ELEM(a)

/* ---- Canonical values and reference types --------------------------- */

static const char *const canon_email_type[] = {"work", "home", "other", NULL};
static const char *const canon_phone_type[] = {
	"work", "home", "mobile", "fax", "pager", "other", NULL};
static const char *const canon_im_type[] = {
	"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo", NULL};
static const char *const canon_photo_type[] = {"photo", "thumbnail", NULL};
static const char *const canon_addr_type[] = {"work", "home", "other", NULL};
static const char *const canon_group_type[] = {"direct", "indirect", NULL};
static const char *const canon_member_type[] = {"User", "Group", NULL};

static const char *const ref_external[] = {"external", NULL};
static const char *const ref_user_group[] = {"User", "Group", NULL};
static const char *const ref_user[] = {"User", NULL};
static const char *const ref_uri[] = {"uri", NULL};

/* ---- Core User (RFC 7643 §4.1, §8.7.1) ------------------------------ */

static const scim_attr user_name_subs[] = {
	{.name = "formatted",
	 .type = SCIM_T_STRING,
	 .description = "The full name, including all middle names, titles, "
			"and suffixes as appropriate, formatted for display "
			"(e.g., 'Ms. Barbara J Jensen, III')."},
	{.name = "familyName",
	 .type = SCIM_T_STRING,
	 .description = "The family name of the User, or last name in most "
			"Western languages (e.g., 'Jensen' given the full "
			"name 'Ms. Barbara J Jensen, III')."},
	{.name = "givenName",
	 .type = SCIM_T_STRING,
	 .description = "The given name of the User, or first name in most "
			"Western languages (e.g., 'Barbara' given the full "
			"name 'Ms. Barbara J Jensen, III')."},
	{.name = "middleName",
	 .type = SCIM_T_STRING,
	 .description = "The middle name(s) of the User (e.g., 'Jane' given "
			"the full name 'Ms. Barbara J Jensen, III')."},
	{.name = "honorificPrefix",
	 .type = SCIM_T_STRING,
	 .description = "The honorific prefix(es) of the User, or title in "
			"most Western languages (e.g., 'Ms.' given the full "
			"name 'Ms. Barbara J Jensen, III')."},
	{.name = "honorificSuffix",
	 .type = SCIM_T_STRING,
	 .description = "The honorific suffix(es) of the User, or suffix in "
			"most Western languages (e.g., 'III' given the full "
			"name 'Ms. Barbara J Jensen, III')."},
};

static const scim_attr user_email_subs[] = {
	{.name = "value",
	 .type = SCIM_T_STRING,
	 .description = "Email addresses for the user.  The value SHOULD be "
			"canonicalized by the service provider, e.g., "
			"'bjensen@example.com' instead of "
			"'bjensen@EXAMPLE.COM'."},
	{.name = "display",
	 .type = SCIM_T_STRING,
	 .description = "A human-readable name, primarily used for display "
			"purposes.  READ-ONLY."},
	{.name = "type",
	 .type = SCIM_T_STRING,
	 .canonical_values = canon_email_type,
	 .description = "A label indicating the attribute's function, e.g., "
			"'work' or 'home'."},
	{.name = "primary",
	 .type = SCIM_T_BOOLEAN,
	 .description = "A Boolean value indicating the 'primary' or "
			"preferred attribute value for this attribute, e.g., "
			"the preferred mailing address or primary email "
			"address.  The primary attribute value 'true' MUST "
			"appear no more than once."},
};

static const scim_attr user_phone_subs[] = {
	{.name = "value",
	 .type = SCIM_T_STRING,
	 .description = "Phone number of the User."},
	{.name = "display",
	 .type = SCIM_T_STRING,
	 .description = "A human-readable name, primarily used for display "
			"purposes.  READ-ONLY."},
	{.name = "type",
	 .type = SCIM_T_STRING,
	 .canonical_values = canon_phone_type,
	 .description = "A label indicating the attribute's function, e.g., "
			"'work', 'home', 'mobile'."},
	{.name = "primary",
	 .type = SCIM_T_BOOLEAN,
	 .description = "A Boolean value indicating the 'primary' or "
			"preferred attribute value for this attribute, e.g., "
			"the preferred phone number or primary phone number.  "
			"The primary attribute value 'true' MUST appear no "
			"more than once."},
};

static const scim_attr user_im_subs[] = {
	{.name = "value",
	 .type = SCIM_T_STRING,
	 .description = "Instant messaging address for the User."},
	{.name = "display",
	 .type = SCIM_T_STRING,
	 .description = "A human-readable name, primarily used for display "
			"purposes.  READ-ONLY."},
	{.name = "type",
	 .type = SCIM_T_STRING,
	 .canonical_values = canon_im_type,
	 .description = "A label indicating the attribute's function, e.g., "
			"'aim', 'gtalk', 'xmpp'."},
	{.name = "primary",
	 .type = SCIM_T_BOOLEAN,
	 .description = "A Boolean value indicating the 'primary' or "
			"preferred attribute value for this attribute, e.g., "
			"the preferred messenger or primary messenger.  The "
			"primary attribute value 'true' MUST appear no more "
			"than once."},
};

static const scim_attr user_photo_subs[] = {
	{.name = "value",
	 .type = SCIM_T_REFERENCE,
	 .reference_types = ref_external,
	 .description = "URL of a photo of the User."},
	{.name = "display",
	 .type = SCIM_T_STRING,
	 .description = "A human-readable name, primarily used for display "
			"purposes.  READ-ONLY."},
	{.name = "type",
	 .type = SCIM_T_STRING,
	 .canonical_values = canon_photo_type,
	 .description = "A label indicating the attribute's function, i.e., "
			"'photo' or 'thumbnail'."},
	{.name = "primary",
	 .type = SCIM_T_BOOLEAN,
	 .description = "A Boolean value indicating the 'primary' or "
			"preferred attribute value for this attribute, e.g., "
			"the preferred photo or thumbnail.  The primary "
			"attribute value 'true' MUST appear no more than "
			"once."},
};

static const scim_attr user_addr_subs[] = {
	{.name = "formatted",
	 .type = SCIM_T_STRING,
	 .description = "The full mailing address, formatted for display or "
			"use with a mailing label.  This attribute MAY contain "
			"newlines."},
	{.name = "streetAddress",
	 .type = SCIM_T_STRING,
	 .description = "The full street address component, which may "
			"include house number, street name, P.O. box, and "
			"multi-line extended street address information.  "
			"This attribute MAY contain newlines."},
	{.name = "locality",
	 .type = SCIM_T_STRING,
	 .description = "The city or locality component."},
	{.name = "region",
	 .type = SCIM_T_STRING,
	 .description = "The state or region component."},
	{.name = "postalCode",
	 .type = SCIM_T_STRING,
	 .description = "The zip code or postal code component."},
	{.name = "country",
	 .type = SCIM_T_STRING,
	 .description = "The country name component."},
	{.name = "type",
	 .type = SCIM_T_STRING,
	 .canonical_values = canon_addr_type,
	 .description = "A label indicating the attribute's function, e.g., "
			"'work' or 'home'."},
	/* Not in §8.7.1, but §4.1.2 gives addresses a primary. */
	{.name = "primary",
	 .type = SCIM_T_BOOLEAN,
	 .description = "A Boolean value indicating the 'primary' or "
			"preferred attribute value for this attribute, e.g., "
			"the preferred mailing address.  The primary "
			"attribute value 'true' MUST appear no more than "
			"once."},
};

static const scim_attr user_group_subs[] = {
	{.name = "value",
	 .type = SCIM_T_STRING,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "The identifier of the User's group."},
	{.name = "$ref",
	 .type = SCIM_T_REFERENCE,
	 .reference_types = ref_user_group,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "The URI of the corresponding 'Group' resource to "
			"which the user belongs."},
	{.name = "display",
	 .type = SCIM_T_STRING,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "A human-readable name, primarily used for display "
			"purposes.  READ-ONLY."},
	{.name = "type",
	 .type = SCIM_T_STRING,
	 .canonical_values = canon_group_type,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "A label indicating the attribute's function, e.g., "
			"'direct' or 'indirect'."},
};

static const scim_attr user_entitlement_subs[] = {
	{.name = "value",
	 .type = SCIM_T_STRING,
	 .description = "The value of an entitlement."},
	{.name = "display",
	 .type = SCIM_T_STRING,
	 .description = "A human-readable name, primarily used for display "
			"purposes.  READ-ONLY."},
	{.name = "type",
	 .type = SCIM_T_STRING,
	 .description = "A label indicating the attribute's function."},
	{.name = "primary",
	 .type = SCIM_T_BOOLEAN,
	 .description = "A Boolean value indicating the 'primary' or "
			"preferred attribute value for this attribute.  The "
			"primary attribute value 'true' MUST appear no more "
			"than once."},
};

static const scim_attr user_role_subs[] = {
	{.name = "value",
	 .type = SCIM_T_STRING,
	 .description = "The value of a role."},
	{.name = "display",
	 .type = SCIM_T_STRING,
	 .description = "A human-readable name, primarily used for display "
			"purposes.  READ-ONLY."},
	{.name = "type",
	 .type = SCIM_T_STRING,
	 .description = "A label indicating the attribute's function."},
	{.name = "primary",
	 .type = SCIM_T_BOOLEAN,
	 .description = "A Boolean value indicating the 'primary' or "
			"preferred attribute value for this attribute.  The "
			"primary attribute value 'true' MUST appear no more "
			"than once."},
};

static const scim_attr user_x509_subs[] = {
	{.name = "value",
	 .type = SCIM_T_BINARY,
	 .description = "The value of an X.509 certificate."},
	{.name = "display",
	 .type = SCIM_T_STRING,
	 .description = "A human-readable name, primarily used for display "
			"purposes.  READ-ONLY."},
	{.name = "type",
	 .type = SCIM_T_STRING,
	 .description = "A label indicating the attribute's function."},
	{.name = "primary",
	 .type = SCIM_T_BOOLEAN,
	 .description = "A Boolean value indicating the 'primary' or "
			"preferred attribute value for this attribute.  The "
			"primary attribute value 'true' MUST appear no more "
			"than once."},
};

static const scim_attr user_attrs[] = {
	{.name = "userName",
	 .type = SCIM_T_STRING,
	 .required = true,
	 .uniqueness = SCIM_UNIQ_SERVER,
	 .description = "Unique identifier for the User, typically used by "
			"the user to directly authenticate to the service "
			"provider.  Each User MUST include a non-empty "
			"userName value.  This identifier MUST be unique "
			"across the service provider's entire set of Users.  "
			"REQUIRED."},
	{.name = "name",
	 .type = SCIM_T_COMPLEX,
	 SUBS(user_name_subs),
	 .description = "The components of the user's real name.  Providers "
			"MAY return just the full name as a single string in "
			"the formatted sub-attribute, or they MAY return just "
			"the individual component attributes using the other "
			"sub-attributes, or they MAY return both."},
	{.name = "displayName",
	 .type = SCIM_T_STRING,
	 .description = "The name of the User, suitable for display to "
			"end-users.  The name SHOULD be the full name of the "
			"User being described, if known."},
	{.name = "nickName",
	 .type = SCIM_T_STRING,
	 .description = "The casual way to address the user in real life, "
			"e.g., 'Bob' or 'Bobby' instead of 'Robert'."},
	{.name = "profileUrl",
	 .type = SCIM_T_REFERENCE,
	 .reference_types = ref_external,
	 .description = "A fully qualified URL pointing to a page "
			"representing the User's online profile."},
	{.name = "title",
	 .type = SCIM_T_STRING,
	 .description = "The user's title, such as \"Vice President.\""},
	{.name = "userType",
	 .type = SCIM_T_STRING,
	 .description = "Used to identify the relationship between the "
			"organization and the user.  Typical values used "
			"might be 'Contractor', 'Employee', 'Intern', 'Temp', "
			"'External', and 'Unknown', but any value may be "
			"used."},
	{.name = "preferredLanguage",
	 .type = SCIM_T_STRING,
	 .description = "Indicates the User's preferred written or spoken "
			"language.  Generally used for selecting a localized "
			"user interface; e.g., 'en_US' specifies the language "
			"English and country US."},
	{.name = "locale",
	 .type = SCIM_T_STRING,
	 .description = "Used to indicate the User's default location for "
			"purposes of localizing items such as currency, date "
			"time format, or numerical representations."},
	{.name = "timezone",
	 .type = SCIM_T_STRING,
	 .description = "The User's time zone in the 'Olson' time zone "
			"database format, e.g., 'America/Los_Angeles'."},
	{.name = "active",
	 .type = SCIM_T_BOOLEAN,
	 .description = "A Boolean value indicating the User's "
			"administrative status."},
	{.name = "password",
	 .type = SCIM_T_STRING,
	 .mutability = SCIM_MUT_WRITEONLY,
	 .returned = SCIM_RET_NEVER,
	 .description = "The User's cleartext password.  This attribute is "
			"intended to be used as a means to specify an initial "
			"password when creating a new User or to reset an "
			"existing User's password."},
	{.name = "emails",
	 .type = SCIM_T_COMPLEX,
	 .multi_valued = true,
	 SUBS(user_email_subs),
	 .description = "Email addresses for the user.  The value SHOULD be "
			"canonicalized by the service provider, e.g., "
			"'bjensen@example.com' instead of "
			"'bjensen@EXAMPLE.COM'.  Canonical type values of "
			"'work', 'home', and 'other'."},
	{.name = "phoneNumbers",
	 .type = SCIM_T_COMPLEX,
	 .multi_valued = true,
	 SUBS(user_phone_subs),
	 .description = "Phone numbers for the User.  The value SHOULD be "
			"canonicalized by the service provider according to "
			"the format specified in RFC 3966, e.g., "
			"'tel:+1-201-555-0123'.  Canonical type values of "
			"'work', 'home', 'mobile', 'fax', 'pager', and "
			"'other'."},
	{.name = "ims",
	 .type = SCIM_T_COMPLEX,
	 .multi_valued = true,
	 SUBS(user_im_subs),
	 .description = "Instant messaging addresses for the User."},
	{.name = "photos",
	 .type = SCIM_T_COMPLEX,
	 .multi_valued = true,
	 SUBS(user_photo_subs),
	 .description = "URLs of photos of the User."},
	{.name = "addresses",
	 .type = SCIM_T_COMPLEX,
	 .multi_valued = true,
	 SUBS(user_addr_subs),
	 .description = "A physical mailing address for this User.  "
			"Canonical type values of 'work', 'home', and "
			"'other'."},
	{.name = "groups",
	 .type = SCIM_T_COMPLEX,
	 .multi_valued = true,
	 .mutability = SCIM_MUT_READONLY,
	 SUBS(user_group_subs),
	 .description = "A list of groups to which the user belongs, either "
			"through direct membership, through nested groups, or "
			"dynamically calculated."},
	{.name = "entitlements",
	 .type = SCIM_T_COMPLEX,
	 .multi_valued = true,
	 SUBS(user_entitlement_subs),
	 .description = "A list of entitlements for the User that represent "
			"a thing the User has."},
	{.name = "roles",
	 .type = SCIM_T_COMPLEX,
	 .multi_valued = true,
	 SUBS(user_role_subs),
	 .description = "A list of roles for the User that collectively "
			"represent who the User is, e.g., 'Student', "
			"'Faculty'."},
	{.name = "x509Certificates",
	 .type = SCIM_T_COMPLEX,
	 .multi_valued = true,
	 SUBS(user_x509_subs),
	 .description = "A list of certificates issued to the User."},
};

static const scim_schema user_schema = {
	.id = SCIM_URN_USER,
	.name = "User",
	.description = "User Account",
	.attrs = user_attrs,
	.n_attrs = N_ELEM(user_attrs),
};

/* ---- Enterprise User (RFC 7643 §4.3, §8.7.2) ------------------------ */

static const scim_attr ent_manager_subs[] = {
	{.name = "value",
	 .type = SCIM_T_STRING,
	 .description = "The id of the SCIM resource representing the User's "
			"manager.  REQUIRED."},
	{.name = "$ref",
	 .type = SCIM_T_REFERENCE,
	 .reference_types = ref_user,
	 .description = "The URI of the SCIM resource representing the "
			"User's manager.  REQUIRED."},
	{.name = "displayName",
	 .type = SCIM_T_STRING,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "The displayName of the User's manager.  OPTIONAL "
			"and READ-ONLY."},
};

static const scim_attr ent_attrs[] = {
	{.name = "employeeNumber",
	 .type = SCIM_T_STRING,
	 .description = "Numeric or alphanumeric identifier assigned to a "
			"person, typically based on order of hire or "
			"association with an organization."},
	{.name = "costCenter",
	 .type = SCIM_T_STRING,
	 .description = "Identifies the name of a cost center."},
	{.name = "organization",
	 .type = SCIM_T_STRING,
	 .description = "Identifies the name of an organization."},
	{.name = "division",
	 .type = SCIM_T_STRING,
	 .description = "Identifies the name of a division."},
	{.name = "department",
	 .type = SCIM_T_STRING,
	 .description = "Identifies the name of a department."},
	{.name = "manager",
	 .type = SCIM_T_COMPLEX,
	 SUBS(ent_manager_subs),
	 .description = "The User's manager.  A complex type that optionally "
			"allows service providers to represent organizational "
			"hierarchy by referencing the 'id' attribute of "
			"another User."},
};

static const scim_schema enterprise_schema = {
	.id = SCIM_URN_ENTERPRISE_USER,
	.name = "EnterpriseUser",
	.description = "Enterprise User",
	.attrs = ent_attrs,
	.n_attrs = N_ELEM(ent_attrs),
};

/* ---- Group (RFC 7643 §4.2, §8.7.1) ---------------------------------- */

static const scim_attr group_member_subs[] = {
	{.name = "value",
	 .type = SCIM_T_STRING,
	 .mutability = SCIM_MUT_IMMUTABLE,
	 .description = "Identifier of the member of this Group."},
	{.name = "$ref",
	 .type = SCIM_T_REFERENCE,
	 .reference_types = ref_user_group,
	 .mutability = SCIM_MUT_IMMUTABLE,
	 .description = "The URI corresponding to a SCIM resource that is a "
			"member of this Group."},
	{.name = "type",
	 .type = SCIM_T_STRING,
	 .canonical_values = canon_member_type,
	 .mutability = SCIM_MUT_IMMUTABLE,
	 .description = "A label indicating the type of resource, e.g., "
			"'User' or 'Group'."},
	/* Not in §8.7.1; sent by IdPs and returned by most providers. */
	{.name = "display",
	 .type = SCIM_T_STRING,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "A human-readable name, primarily used for display "
			"purposes.  READ-ONLY."},
};

static const scim_attr group_attrs[] = {
	/* §8.7.1 says required false; §4.2 says REQUIRED. */
	{.name = "displayName",
	 .type = SCIM_T_STRING,
	 .required = true,
	 .description = "A human-readable name for the Group.  REQUIRED."},
	{.name = "members",
	 .type = SCIM_T_COMPLEX,
	 .multi_valued = true,
	 SUBS(group_member_subs),
	 .description = "A list of members of the Group."},
};

static const scim_schema group_schema = {
	.id = SCIM_URN_GROUP,
	.name = "Group",
	.description = "Group",
	.attrs = group_attrs,
	.n_attrs = N_ELEM(group_attrs),
};

/* ---- Common attributes (RFC 7643 §3.1) ------------------------------ */

static const scim_attr common_meta_subs[] = {
	{.name = "resourceType",
	 .type = SCIM_T_STRING,
	 .case_exact = true,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "The name of the resource type of the resource."},
	{.name = "created",
	 .type = SCIM_T_DATETIME,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "The DateTime that the resource was added to the "
			"service provider."},
	{.name = "lastModified",
	 .type = SCIM_T_DATETIME,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "The most recent DateTime that the details of this "
			"resource were updated at the service provider."},
	{.name = "location",
	 .type = SCIM_T_REFERENCE,
	 .case_exact = true,
	 .reference_types = ref_uri,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "The URI of the resource being returned."},
	{.name = "version",
	 .type = SCIM_T_STRING,
	 .case_exact = true,
	 .mutability = SCIM_MUT_READONLY,
	 .description = "The version of the resource being returned."},
};

static const scim_attr common_attrs[] = {
	{.name = "id",
	 .type = SCIM_T_STRING,
	 .case_exact = true,
	 .mutability = SCIM_MUT_READONLY,
	 .returned = SCIM_RET_ALWAYS,
	 .uniqueness = SCIM_UNIQ_SERVER,
	 .description = "A unique identifier for a SCIM resource as defined "
			"by the service provider."},
	{.name = "externalId",
	 .type = SCIM_T_STRING,
	 .case_exact = true,
	 .description = "A String that is an identifier for the resource as "
			"defined by the provisioning client."},
	{.name = "meta",
	 .type = SCIM_T_COMPLEX,
	 .mutability = SCIM_MUT_READONLY,
	 SUBS(common_meta_subs),
	 .description = "A complex attribute containing resource metadata."},
};

static const scim_schema common_schema = {
	.id = "urn:scimsync:common",
	.name = "Common",
	.description = "Attributes common to all resources (RFC 7643 "
		       "section 3.1)",
	.attrs = common_attrs,
	.n_attrs = N_ELEM(common_attrs),
};

/* ---- Resource types ------------------------------------------------- */

static const scim_schema *const user_extensions[] = {&enterprise_schema, NULL};
static const scim_schema *const group_extensions[] = {NULL};

static const scim_restype user_restype = {
	.id = SCIM_RT_USER,
	.name = "User",
	.endpoint = "/Users",
	.description = "User Account",
	.core = &user_schema,
	.extensions = user_extensions,
};

static const scim_restype group_restype = {
	.id = SCIM_RT_GROUP,
	.name = "Group",
	.endpoint = "/Groups",
	.description = "Group",
	.core = &group_schema,
	.extensions = group_extensions,
};

static const scim_schema *const served_schemas[] = {
	&user_schema, &enterprise_schema, &group_schema, NULL};

const scim_restype *scim_restype_user(void)
{
	return &user_restype;
}

const scim_restype *scim_restype_group(void)
{
	return &group_restype;
}

const scim_schema *const *scim_schema_all(void)
{
	return served_schemas;
}

const scim_schema *scim_schema_common(void)
{
	return &common_schema;
}
