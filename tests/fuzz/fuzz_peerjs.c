/* libFuzzer harness: pj_parse (a PeerJS client's websocket text message)
 * and the id and path rules of the PeerJS endpoint (sidecar/peerjs.c). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peerjs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pj_msg m;
    const char *why = NULL;
    char *copy = malloc(size + 1);

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* The exact bytes, as ws.c hands them over (not NUL-terminated). */
    if (pj_parse((const char *)data, size, &m, &why) == 0) {
        assert(why == NULL);
        assert(m.type < PJ_TYPE_COUNT);
        /* A dst no id can be is marked, to be answered EXPIRE. */
        assert(m.dst == NULL || m.dst_bad == !pj_id_valid(m.dst));
        pj_msg_free(&m);
    } else {
        assert(why != NULL && m.root == NULL && m.payload == NULL);
    }
    /* As a string: up to the first NUL. */
    if (pj_id_valid(copy))
        assert(strlen(copy) > 0 && strlen(copy) <= PJ_ID_MAX);
    (void)pj_http_route(copy);
    (void)pj_ws_path(copy);
    free(copy);
    return 0;
}
