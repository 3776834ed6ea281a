/* libFuzzer harness: the pure parsers of cluster.c that read what other
 * nodes send through Redis: classify (room channel messages) and
 * node_message_parse (node channel messages). Input: first byte picks the
 * target. */
#include "../../sidecar/cluster.c"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_classify(const char *p, size_t n)
{
    cJSON *j = NULL;
    const char *about;
    enum rkind k = classify(p, n, &j, &about);

    if (k == RK_JOINED || k == RK_STATE || k == RK_LEFT || k == RK_MOVED)
        assert(about != NULL);
    cJSON_Delete(j);
}

/* The parse at the head of on_node_message, without its delivery. */
static void fuzz_node(const char *json, size_t len)
{
    char room[65], to[PEER_ID_LEN + 1];
    const char *msg;
    size_t msg_len;

    if (node_message_parse(json, len, room, sizeof room, to, sizeof to, &msg,
                           &msg_len) < 0)
        return;
    assert(msg >= json && msg + msg_len < json + len);
    assert(strlen(room) < sizeof room && strlen(to) < sizeof to);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p;

    if (size == 0)
        return 0;
    p = malloc(size - 1 ? size - 1 : 1); /* exact size: overreads show */
    if (p == NULL)
        return 0;
    memcpy(p, data + 1, size - 1);
    if (data[0] & 1)
        fuzz_node(p, size - 1);
    else
        fuzz_classify(p, size - 1);
    free(p);
    return 0;
}
