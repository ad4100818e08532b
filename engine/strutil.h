/* strutil.h - small string and time helpers shared by the engine.
 *
 * Everything here is locale-independent: case mapping is done on bytes and
 * code points by fixed rules, never through <ctype.h> or the C locale. */
#ifndef SCIMSYNC_STRUTIL_H
#define SCIMSYNC_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ASCII case-insensitive comparison (bytes >= 0x80 compare as is), with
 * the sign convention of strcmp. Neither argument may be NULL. */
int scim_strcasecmp(const char *a, const char *b);
int scim_strncasecmp(const char *a, const char *b, size_t n);

/* ASCII case-insensitive equality of a NUL-terminated string and the first
 * len bytes of t (t need not be NUL-terminated). */
bool scim_strn_equal_ci(const char *s, const char *t, size_t len);

/* New malloc'd copy of s folded to lower case, to build keys for
 * case-insensitive comparison and uniqueness (free with free()); NULL if
 * out of memory. Folding maps:
 *   - ASCII A-Z to a-z;
 *   - upper-case letters of Latin-1 Supplement (U+00C0-U+00DE except
 *     U+00D7), Latin Extended-A (U+0100-U+017F, plus U+0178 to U+00FF),
 *     Greek (U+0386-U+03AB, and final sigma U+03C2 to U+03C3) and Cyrillic
 *     (U+0400-U+052F) to their lower-case letters.
 * All of these map a 2-byte UTF-8 sequence to a 2-byte sequence, so the
 * result has the length of s. Any other byte, including invalid UTF-8, is
 * copied unchanged; no Unicode normalisation is done (a precomposed and a
 * decomposed "é" fold differently). */
char *scim_str_fold(const char *s);

/* Is s[0..len) well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF)? NUL bytes count as valid. */
bool scim_is_valid_utf8(const char *s, size_t len);

/* Format unix_ms (milliseconds since 1970-01-01T00:00:00Z) as RFC 3339
 * UTC with milliseconds, e.g. "2026-11-22T08:01:02.123Z" (always 24
 * characters plus NUL). Returns 0, or -1 if the year is outside
 * 0000-9999 (out is then the empty string). */
int scim_time_format(char out[static 32], int64_t unix_ms);

/* Parse an RFC 3339 / xsd:dateTime timestamp: "YYYY-MM-DDThh:mm:ss",
 * optional fraction ".d+" (digits past milliseconds are truncated), then
 * "Z" or "+hh:mm"/"-hh:mm". 'T' and 'Z' may be lower case. A timestamp
 * without zone (allowed by xsd:dateTime) is taken as UTC. Fields are
 * range-checked (day against month and leap year; second 60 is accepted
 * as a leap second). On success stores milliseconds since the epoch in
 * *unix_ms_out and returns 0; returns -1 if s is not such a timestamp. */
int scim_time_parse(const char *s, int64_t *unix_ms_out);

/* A random (version 4) UUID, lower-case, into out. Aborts when the
 * system has no randomness: an id that could repeat is worse. */
void scim_new_uuid(char out[37]);

#endif
