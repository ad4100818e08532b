/* mapping.h - mapping files: which target attribute a sink receives from a
 * SCIM User or Group, and which roles a Group stands for.
 *
 *   extends: ldap-inetorgperson.yaml     # optional, relative to this file
 *   user:
 *     uid:  '{{ userName | split: "@" | first | downcase }}'
 *     mail:                              # a list: every value is collected
 *       - '{{ emails[type eq "work"].value }}'
 *       - '{{ emails[type ne "work"].value }}'
 *     title: ~                           # null: drop the inherited one
 *   group:
 *     cn: '{{ displayName }}'
 *   role: '{{ displayName | downcase | replace: "acme-admins", "org:admin" }}'
 *
 * Every template is compiled when the file loads (engine/tmpl.h), so a bad
 * template is a load error naming file, line, column and attribute; a
 * loaded mapping only renders. A mapping is immutable after loading and may
 * be shared by threads. */
#ifndef SCIMSYNC_MAPPING_H
#define SCIMSYNC_MAPPING_H

#include <stddef.h>

#include <jansson.h>

/* How deep `extends:` chains may go (a file and 8 ancestors). */
#define MAPPING_MAX_EXTENDS 8

typedef struct mapping mapping;

typedef enum mapping_section {
	MAPPING_USER = 0, /* the `user:` attributes, rendered against a User */
	MAPPING_GROUP = 1 /* the `group:` attributes, against a Group */
} mapping_section;

/* Where and why loading or evaluating failed. Caller-allocated; filling it
 * never allocates. line/column are 1-based in file, 0 when unknown. attr
 * is the key path in the file: "user.mail", "user.mail[1]", "role",
 * "extends", or "" for the file as a whole. */
typedef struct mapping_error {
	char file[256];
	int line;
	int column;
	char attr[128];
	char message[256];
} mapping_error;

/* Load and compile the mapping file at path (and the files it extends).
 * On success *out is new (mapping_free) and 0 is returned; on failure
 * *out is NULL, err is filled and -1 is returned. */
int mapping_load(mapping **out, const char *path, mapping_error *err);

/* Free m and everything it owns; NULL is fine. */
void mapping_free(mapping *m);

/* Render section sec against resource (a SCIM User or Group object,
 * borrowed) with event (an object such as {"type": "user.deactivated"},
 * or NULL; borrowed, reachable in templates as `event`). *out is a new
 * object {attribute: [string, ...]} in the file's order; attributes that
 * rendered no value are left out. Returns 0, or -1 with err (naming the
 * attribute) when a template hit a render bound. */
int mapping_eval(json_t **out, const mapping *m, mapping_section sec,
		 const json_t *resource, const json_t *event,
		 mapping_error *err);

/* The role names group (borrowed) maps to: *out is a new array of
 * distinct strings in rendering order, empty when the group maps to no
 * role or the file has no `role:`. Returns 0, or -1 with err. */
int mapping_roles(json_t **out, const mapping *m, const json_t *group,
		  mapping_error *err);

/* How many target attributes section sec has (after extends). */
size_t mapping_attr_count(const mapping *m, mapping_section sec);

/* The name of attribute i of sec (borrowed from m), NULL when out of
 * range. */
const char *mapping_attr_name(const mapping *m, mapping_section sec, size_t i);

/* Does the mapping say anything about roles? */
int mapping_has_roles(const mapping *m);

/* The path m was loaded from (borrowed from m). */
const char *mapping_path(const mapping *m);

/* Write err as "FILE:LINE:COLUMN: ATTR: MESSAGE" (parts that are unknown
 * are left out) into buf; returns buf. */
char *mapping_error_format(char *buf, size_t len, const mapping_error *err);

#endif
