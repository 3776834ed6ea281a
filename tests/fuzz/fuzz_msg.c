/* libFuzzer harness: msg_parse (a client's websocket text message into a
 * validated struct msg_in) and the UTF-8 and name checks it relies on. */
#include <assert.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "msg_links.h"
#include "roomid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A links message's canonical array is JSON of at most max_links entries
 * that reads back as itself. */
static void check_links(const char *canon, const struct msg_limits *lim)
{
    char *again = NULL;
    char why[112];

    assert(canon != NULL);
    cJSON *j = cJSON_Parse(canon);
    assert(cJSON_IsArray(j));
    assert((size_t)cJSON_GetArraySize(j) <= lim->max_links);
    assert(msg_links_canon(j, lim->max_links, &again, why, sizeof why) == 0);
    assert(strcmp(again, canon) == 0);
    free(again);
    cJSON_Delete(j);
}

/* What a validated message promises the hub: every string it keeps is
 * UTF-8 without NUL, and the rules of docs/protocol.md hold. */
static void check_valid(const struct msg_in *m, const struct msg_limits *lim)
{
    const char *const strs[] = {m->room, m->name, m->resume, m->to, m->text};

    assert(msg_type_name(m->type) != NULL);
    assert(!m->has_nul);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i] != NULL)
            assert(msg_utf8_valid((const unsigned char *)strs[i],
                                  strlen(strs[i])));
    if (m->type == MSG_JOIN) {
        assert(m->room != NULL && roomid_valid(m->room, strlen(m->room)));
        assert(m->name != NULL && msg_name_valid(m->name));
    }
    if (m->type == MSG_STATE && m->name != NULL)
        assert(msg_name_valid(m->name));
    if (m->type == MSG_CHAT)
        assert(m->text != NULL && m->text[0] != '\0' &&
               strlen(m->text) <= 4 * lim->max_chat_chars);
    if (m->type == MSG_SIGNAL)
        assert(m->data != NULL && strlen(m->data) <= lim->max_signal_bytes);
    if (m->type == MSG_LINKS)
        check_links(m->links, lim);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Smaller than the defaults so inputs under -max_len reach them. */
    static const struct msg_limits lim = {64, 100, 3};
    struct msg_in m;
    struct msg_err err;
    char *copy = malloc(size + 1);

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';

    /* The exact bytes, not NUL-terminated (as ws.c hands them over). */
    char *exact = malloc(size ? size : 1);
    if (exact != NULL) {
        memcpy(exact, data, size);
        memset(&m, 0, sizeof m);
        memset(&err, 0, sizeof err);
        if (msg_parse(exact, size, &lim, &m, &err) == 0) {
            check_valid(&m, &lim);
        } else {
            assert(err.code < MSG_CODE_COUNT);
            assert(memchr(err.message, '\0', sizeof err.message) != NULL);
        }
        /* Either way, as hub.c does: a refused message may hold a tree. */
        msg_in_clear(&m);
        msg_in_clear(&m); /* safe on a cleared struct */
        free(exact);
    }

    (void)msg_utf8_valid(data, size);
    (void)msg_name_valid(copy);
    free(copy);
    return 0;
}
