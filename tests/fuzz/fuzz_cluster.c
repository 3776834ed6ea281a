/* libFuzzer harness: the parsers of what other nodes send through Redis
 * (sidecar/msg_node.h): msg_node_classify (room channel messages) and
 * msg_node_unwrap (node channel messages), then msg_node_knock_answer on
 * what a node message carries, and the PeerJS node messages
 * (msg_node_pj_unwrap, msg_node_pj_open). Input: first byte picks the
 * target. */
#include <assert.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg_node.h"
#include "room.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_classify(const char *p, size_t n)
{
    cJSON *j = NULL;
    const char *about;
    enum msg_node_kind k = msg_node_classify(p, n, &j, &about);

    if (k == MSG_NODE_JOINED || k == MSG_NODE_STATE || k == MSG_NODE_LEFT ||
        k == MSG_NODE_MOVED)
        assert(about != NULL);
    cJSON_Delete(j);
}

/* The parse at the head of the cluster's node message callback, without
 * its delivery. */
static void fuzz_node(const char *json, size_t len)
{
    char room[65], to[PEER_ID_LEN + 1], node[96];
    const char *msg;
    size_t msg_len;

    if (msg_node_pj_unwrap(json, len, room, sizeof room, &msg, &msg_len) == 0)
        assert(msg >= json && msg + msg_len < json + len &&
               strlen(room) < sizeof room);
    if (msg_node_pj_open(json, len, room, sizeof room, node, sizeof node) == 0)
        assert(strlen(room) < sizeof room && strlen(node) < sizeof node);
    if (msg_node_unwrap(json, len, room, sizeof room, to, sizeof to, &msg,
                        &msg_len) < 0)
        return;
    assert(msg >= json && msg + msg_len < json + len);
    assert(strlen(room) < sizeof room && strlen(to) < sizeof to);
    char why[16];
    int64_t at = -1;
    enum msg_knock_answer a =
        msg_node_knock_answer(msg, msg_len, why, sizeof why, &at);
    if (a == MSG_KNOCK_DENY)
        assert(strlen(why) < sizeof why);
    if (a == MSG_KNOCK_TAKEN)
        assert(at >= 0);
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
