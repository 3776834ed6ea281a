/* libFuzzer harness: tpl_parse, tpl_size, tpl_render and the HTML escape.
 * Input: the template text, then (after a NUL byte, if any) the bytes
 * that are split into the values of the three slots at 0x01 bytes. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_escape(const char *s, size_t len)
{
    size_t need = tpl_escaped_size(s, len);
    char *out = malloc(need ? need : 1);

    if (out == NULL)
        return;
    assert(tpl_escape(out, s, len) == need);
    for (size_t i = 0; i < need; i++)
        assert(out[i] != '<' && out[i] != '>' && out[i] != '"' &&
               out[i] != '\'');
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"room", "name", "x"};
    const char *text = (const char *)data, *err = NULL;
    const char *nul = memchr(data, '\0', size);
    size_t tlen = nul != NULL ? (size_t)(nul - text) : size;
    struct tpl_value vals[3] = {{"", 0}, {"", 0}, {"", 0}};
    struct tpl *t;

    if (nul != NULL) {
        const char *v = nul + 1, *end = text + size;
        for (int i = 0; i < 3 && v <= end; i++) {
            const char *sep = memchr(v, '\x01', (size_t)(end - v));
            const char *stop = sep != NULL ? sep : end;
            vals[i] = (struct tpl_value){v, (size_t)(stop - v)};
            v = stop + 1;
        }
    }
    check_escape(text, size);
    t = tpl_parse(text, tlen, names, 3, &err);
    if (t == NULL) {
        assert(err != NULL);
        return 0;
    }
    size_t need = tpl_size(t, vals);
    char *out = malloc(need + 1);
    if (out != NULL) {
        assert(tpl_render(t, vals, out, need + 1) == (long)need);
        assert(tpl_render(t, vals, out, need) == (long)need);
        if (need > 0)
            assert(tpl_render(t, vals, out, need - 1) == -1);
        free(out);
    }
    tpl_free(t);
    return 0;
}
