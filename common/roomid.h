#ifndef HUDDLE_ROOMID_H
#define HUDDLE_ROOMID_H

#include <stdbool.h>
#include <stddef.h>

/* Longest room id in bytes (docs/design.md, "Rooms and identities"). */
#define ROOMID_MAX 64

/* Returns true when the len bytes at s are a valid room id:
 * ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ and not a reserved name (ws, healthz,
 * assets, api, peerjs, metrics, in any case). The same check runs in fcgi and
 * sidecar. s need not be NUL-terminated; an embedded NUL makes it invalid. */
bool roomid_valid(const char *s, size_t len);

#endif
