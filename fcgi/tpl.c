#include "tpl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* A piece is either literal text (slot < 0) or the value of slot `slot`. */
struct tpl_piece {
    const char *text;
    size_t len;
    int slot;
};

struct tpl {
    char *text; /* owned copy the literal pieces point into */
    size_t literal_len;
    size_t npieces;
    struct tpl_piece pieces[];
};

/* Replacement for each byte that needs one; NULL for the rest. */
static const char *tpl_entity(unsigned char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

size_t tpl_escaped_size(const char *s, size_t len)
{
    size_t n = len;

    for (size_t i = 0; i < len; i++) {
        const char *e = tpl_entity((unsigned char)s[i]);
        if (e != NULL)
            n += strlen(e) - 1;
    }
    return n;
}

size_t tpl_escape(char *out, const char *s, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        const char *e = tpl_entity((unsigned char)s[i]);
        if (e == NULL) {
            out[o++] = s[i];
        } else {
            size_t n = strlen(e);
            /* out is a buffer with a length (o), terminated by the caller.
             * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
            memcpy(out + o, e, n);
            o += n;
        }
    }
    return o;
}

/* Index of the name (len bytes at s) in names, or -1. */
static int tpl_slot(const char *s, size_t len, const char *const *names,
                    size_t nnames)
{
    for (size_t i = 0; i < nnames; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return (int)i;
    }
    return -1;
}

/* Counts the placeholders so the piece array can be sized in one go. */
static size_t tpl_count_open(const char *text, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] == '{' && text[i + 1] == '{') {
            n++;
            i++;
        }
    }
    return n;
}

static void tpl_add(struct tpl *t, const char *text, size_t len, int slot)
{
    if (slot < 0 && len == 0)
        return;
    t->pieces[t->npieces++] = (struct tpl_piece){text, len, slot};
    if (slot < 0)
        t->literal_len += len;
}

struct tpl *tpl_parse(const char *text, size_t len, const char *const *names,
                      size_t nnames, const char **err)
{
    size_t max = 2 * tpl_count_open(text, len) + 1;
    struct tpl *t = calloc(1, sizeof *t + max * sizeof t->pieces[0]);
    const char *why = "out of memory";
    size_t start = 0;

    if (t == NULL || (t->text = malloc(len + 1)) == NULL)
        goto fail;
    memcpy(t->text, text, len);
    t->text[len] = '\0';
    text = t->text;
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] != '{' || text[i + 1] != '{')
            continue;
        const char *name = text + i + 2;
        const char *close = memmem(name, len - (i + 2), "}}", 2);
        why = "unterminated {{";
        if (close == NULL || close - name > TPL_NAME_MAX)
            goto fail;
        int slot = tpl_slot(name, (size_t)(close - name), names, nnames);
        why = "unknown placeholder";
        if (slot < 0)
            goto fail;
        tpl_add(t, text + start, i - start, -1);
        tpl_add(t, NULL, 0, slot);
        start = (size_t)(close + 2 - text);
        i = start - 1;
    }
    tpl_add(t, text + start, len - start, -1);
    return t;
fail:
    if (err != NULL)
        *err = why;
    tpl_free(t);
    return NULL;
}

struct tpl *tpl_load(const char *path, const char *const *names, size_t nnames)
{
    struct tpl *t = NULL;
    char *buf = malloc(TPL_FILE_MAX);
    const char *why = "out of memory";
    FILE *f = NULL;
    size_t n;

    if (buf == NULL)
        goto done;
    f = fopen(path, "rb");
    if (f == NULL) {
        why = strerror(errno);
        goto done;
    }
    n = fread(buf, 1, TPL_FILE_MAX, f);
    why = "read error";
    if (ferror(f))
        goto done;
    why = "file too large";
    if (n == TPL_FILE_MAX)
        goto done;
    t = tpl_parse(buf, n, names, nnames, &why);
done:
    if (t == NULL)
        log_error("template %s: %s", path, why);
    if (f != NULL)
        fclose(f);
    free(buf);
    return t;
}

void tpl_free(struct tpl *t)
{
    if (t == NULL)
        return;
    free(t->text);
    free(t);
}

size_t tpl_size(const struct tpl *t, const struct tpl_value *vals)
{
    size_t n = t->literal_len;

    for (size_t i = 0; i < t->npieces; i++) {
        const struct tpl_piece *p = &t->pieces[i];
        if (p->slot >= 0)
            n += tpl_escaped_size(vals[p->slot].s, vals[p->slot].len);
    }
    return n;
}

long tpl_render(const struct tpl *t, const struct tpl_value *vals, char *out,
                size_t cap)
{
    size_t o = 0;

    if (tpl_size(t, vals) > cap)
        return -1;
    for (size_t i = 0; i < t->npieces; i++) {
        const struct tpl_piece *p = &t->pieces[i];
        if (p->slot < 0) {
            memcpy(out + o, p->text, p->len);
            o += p->len;
        } else {
            o += tpl_escape(out + o, vals[p->slot].s, vals[p->slot].len);
        }
    }
    return (long)o;
}
