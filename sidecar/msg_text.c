#include "msg_text.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- cJSON's allocations ------------------------------------------- */

static unsigned long json_nomem;

static void *json_malloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        json_nomem++;
    return p;
}

void msg_json_init(void)
{
    cJSON_Hooks hooks = {.malloc_fn = json_malloc, .free_fn = free};
    cJSON_InitHooks(&hooks);
}

unsigned long msg_json_nomem(void)
{
    return json_nomem;
}

/* ---- text checks --------------------------------------------------- */

bool msg_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Decodes the code point at *p (valid UTF-8) and advances *p past it. */
static unsigned utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    unsigned cp;
    size_t n;

    if (s[0] < 0x80) {
        cp = s[0];
        n = 0;
    } else if (s[0] < 0xe0) {
        cp = s[0] & 0x1f;
        n = 1;
    } else if (s[0] < 0xf0) {
        cp = s[0] & 0x0f;
        n = 2;
    } else {
        cp = s[0] & 0x07;
        n = 3;
    }
    for (size_t k = 1; k <= n; k++)
        cp = (cp << 6) | (s[k] & 0x3f);
    *p = s + n + 1;
    return cp;
}

struct cp_range {
    unsigned lo, hi;
};

static bool in_ranges(unsigned cp, const struct cp_range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cp >= r[i].lo && cp <= r[i].hi)
            return true;
    return false;
}

/* Never in a name: C0, DEL, C1, and the bidi embeddings, overrides and
 * isolates that would reorder what others see around the name. */
static const struct cp_range name_refused[] = {
    {0x00, 0x1f},
    {0x7f, 0x9f},
    {0x202a, 0x202e},
    {0x2066, 0x2069},
};

/* Characters that show nothing: spaces, zero-width and format characters,
 * fillers, variation selectors, tags. A name needs one that is not. */
static const struct cp_range invisible[] = {
    {0x20, 0x20},       {0xa0, 0xa0},     {0xad, 0xad},     {0x34f, 0x34f},
    {0x61c, 0x61c},     {0x115f, 0x1160}, {0x1680, 0x1680}, {0x17b4, 0x17b5},
    {0x180b, 0x180f},   {0x2000, 0x200f}, {0x2028, 0x202f}, {0x205f, 0x206f},
    {0x2800, 0x2800},   {0x3000, 0x3000}, {0x3164, 0x3164}, {0xfe00, 0xfe0f},
    {0xfeff, 0xfeff},   {0xffa0, 0xffa0}, {0xfff9, 0xfffb}, {0x1d173, 0x1d17a},
    {0xe0000, 0xe0fff},
};

#define NRANGES(a) (sizeof(a) / sizeof(a)[0])

bool msg_name_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    bool visible = false;

    if (len < 1 || len > MSG_NAME_MAX || !msg_utf8_valid(p, len))
        return false;
    while (*p) {
        unsigned cp = utf8_next(&p);
        if (in_ranges(cp, name_refused, NRANGES(name_refused)))
            return false;
        if (!in_ranges(cp, invisible, NRANGES(invisible)))
            visible = true;
    }
    return visible;
}

bool msg_json_controls_ok(const char *s, size_t len)
{
    bool in_str = false;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (in_str) {
            if (c < 0x20)
                return false;
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            return false;
        }
    }
    return true;
}

/* ---- raw member text ------------------------------------------------ */

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p is at a quote: returns the position after the closing one. */
static const char *skip_str(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return e;
}

/* Skips one JSON value starting at p. */
static const char *skip_value(const char *p, const char *e)
{
    int depth = 0;

    if (p < e && *p == '"')
        return skip_str(p, e);
    if (p < e && *p != '{' && *p != '[') { /* number, true, false, null */
        while (p < e && strchr(",}] \t\r\n", *p) == NULL)
            p++;
        return p;
    }
    while (p < e) {
        if (*p == '"') {
            p = skip_str(p, e);
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
        p++;
    }
    return p;
}

/* Whether the key text k..kend (quotes included) names key, escapes
 * decoded as a JSON parser would. */
static bool key_is(const char *k, const char *kend, const char *key)
{
    size_t n = (size_t)(kend - k);
    if (memchr(k, '\\', n) == NULL)
        return n == strlen(key) + 2 && memcmp(k + 1, key, n - 2) == 0;
    cJSON *j = cJSON_ParseWithLength(k, n);
    bool same = cJSON_IsString(j) && strcmp(j->valuestring, key) == 0;
    cJSON_Delete(j);
    return same;
}

int msg_member_raw(const char *s, size_t len, const char *key, const char **val,
                   size_t *n)
{
    const char *e = s + len, *p = skip_ws(s, e);

    if (p >= e || *p != '{')
        return -1;
    for (p = skip_ws(p + 1, e); p < e && *p == '"';) {
        const char *k = p;
        p = skip_str(p, e);
        bool match = key_is(k, p, key);
        p = skip_ws(p, e);
        if (p >= e || *p != ':')
            return -1;
        const char *v = skip_ws(p + 1, e);
        p = skip_value(v, e);
        if (match) {
            *val = v;
            *n = (size_t)(p - v);
            return 0;
        }
        p = skip_ws(p, e);
        if (p >= e || *p != ',')
            return -1;
        p = skip_ws(p + 1, e);
    }
    return -1;
}

size_t msg_utf8_code_points(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

bool msg_escaped_nul(char *buf, size_t len, bool fix)
{
    bool any = false;
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\\')
            continue;
        if (buf[i + 1] == 'u' && i + 5 < len && buf[i + 2] == '0' &&
            buf[i + 3] == '0' && buf[i + 4] == '0' && buf[i + 5] == '0') {
            any = true;
            if (fix)
                buf[i + 5] = '1';
        }
        i++; /* skip the escaped char, e.g. the second \ of \\ */
    }
    return any;
}
