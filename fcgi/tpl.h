/* Templates: text with {{name}} placeholders, split once at load time into
 * literal pieces and slots, then rendered any number of times (from any
 * number of threads: a template is read-only after tpl_parse).
 *
 * Every value is HTML-escaped (& < > " ') when rendered; there is no raw
 * form, so a template cannot be made to emit markup from a value. */
#ifndef HUDDLE_TPL_H
#define HUDDLE_TPL_H

#include <stddef.h>

/* Longest file tpl_load reads, and longest placeholder name. */
#define TPL_FILE_MAX ((size_t)1024 * 1024)
#define TPL_NAME_MAX 32

struct tpl;

/* A value for one named slot; len bytes at s, need not be NUL-terminated. */
struct tpl_value {
    const char *s;
    size_t len;
};

/* Splits the len bytes at text into pieces. names[0..nnames) are the only
 * placeholders allowed; values are later passed in the same order. Returns
 * a template the caller frees with tpl_free, or NULL when a placeholder is
 * unknown or unterminated or memory runs out; then *err (if err is not
 * NULL) points at a static message saying why. */
struct tpl *tpl_parse(const char *text, size_t len, const char *const *names,
                      size_t nnames, const char **err);

/* Reads the file at path and parses it as tpl_parse does. Returns NULL
 * after logging one line naming the file and the cause. */
struct tpl *tpl_load(const char *path, const char *const *names, size_t nnames);

void tpl_free(struct tpl *t);

/* Bytes tpl_render would write for these values (vals has one entry per
 * name given to tpl_parse). */
size_t tpl_size(const struct tpl *t, const struct tpl_value *vals);

/* Writes the rendered text into out (cap bytes, not NUL-terminated).
 * Returns the number of bytes written, or -1 when it does not fit. */
long tpl_render(const struct tpl *t, const struct tpl_value *vals, char *out,
                size_t cap);

/* Bytes the HTML-escaped form of the len bytes at s takes. */
size_t tpl_escaped_size(const char *s, size_t len);

/* Writes the HTML-escaped form of s into out, which must have room for
 * tpl_escaped_size(s, len) bytes. Returns the number of bytes written. */
size_t tpl_escape(char *out, const char *s, size_t len);

#endif
