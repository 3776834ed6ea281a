#include "outmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* ---- outgoing buffers ---------------------------------------------- */

struct out_msg *out_msg_new(const char *s, size_t len)
{
    struct out_msg *m = malloc(sizeof *m + OUT_PRE + len + 1);
    if (m == NULL)
        return NULL;
    m->refs = 1;
    m->type = (unsigned char)metrics_out_type(s, len);
    m->kind = OUT_OTHER;
    m->about[0] = '\0';
    m->len = len;
    memcpy(m->buf + OUT_PRE, s, len);
    m->buf[OUT_PRE + len] = '\0';
    return m;
}

void out_msg_tag(struct out_msg *m, enum out_kind kind, const char *id)
{
    if (m == NULL)
        return;
    m->kind = (unsigned char)kind;
    snprintf(m->about, sizeof m->about, "%s", id);
}

void out_msg_unref(struct out_msg *m)
{
    if (m != NULL && --m->refs == 0)
        free(m);
}

/* ---- string builder ------------------------------------------------ */

static bool sb_grow(struct sb *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void sb_putn(struct sb *b, const char *s, size_t n)
{
    if (!sb_grow(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sb_puts(struct sb *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

void sb_printf(struct sb *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->oom = true; /* only short fixed formats are used */
        return;
    }
    sb_putn(b, tmp, (size_t)n);
}

void sb_json_str(struct sb *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;

    sb_putn(b, "\"", 1);
    for (;; p++) {
        unsigned char c = *p;
        if (c != 0 && c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        sb_putn(b, (const char *)p - run, run);
        run = 0;
        if (c == 0)
            break;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        if (c == '\n')
            esc[1] = 'n';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c == '\t')
            esc[1] = 't';
        else if (c < 0x20) {
            /* esc is 6 bytes written in full, not a string.
             * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        sb_putn(b, esc, n);
    }
    sb_putn(b, "\"", 1);
}

char *sb_take(struct sb *b)
{
    char *p = b->oom ? NULL : b->p;
    if (b->oom)
        free(b->p);
    if (p == NULL && !b->oom)
        p = strdup("");
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

struct out_msg *sb_take_msg(struct sb *b)
{
    struct out_msg *m = NULL;
    if (!b->oom && b->p != NULL)
        m = out_msg_new(b->p, b->len);
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    return m;
}
