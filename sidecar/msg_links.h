/* The links message (docs/protocol.md, "links"): a member's summary of the
 * health of each of its peer connections (round trip, loss, bitrates, the
 * path the media takes), checked field by field against one table and
 * written again in one canonical form, so that nothing a client wrote is
 * relayed as it wrote it. Kept apart from msg.c, which calls
 * msg_links_canon from its field table. No I/O. */
#ifndef HUDDLE_MSG_LINKS_H
#define HUDDLE_MSG_LINKS_H

#include <stdbool.h>
#include <stddef.h>

#include "outmsg.h"

struct cJSON;

/* Bytes a client's links message may take: MSG_LINKS_HEAD_BYTES plus
 * MSG_LINKS_ENTRY_BYTES per entry it may hold (the longest canonical entry
 * is under 240 bytes). */
#define MSG_LINKS_HEAD_BYTES 64
#define MSG_LINKS_ENTRY_BYTES 256

/* Returns the byte cap of a links message of at most max_links entries. */
size_t msg_links_max_bytes(size_t max_links);

/* Checks arr, the "links" array of a client's message, against the rules
 * of docs/protocol.md: at most max_links entries, each an object of known
 * members only, none twice, "peer" and "state" present, every string one of
 * its words, every number finite and in its range, no peer twice.
 * Returns 0 and sets *canon to the canonical array (malloc'd JSON text,
 * caller frees); -1 with why (why_max bytes) saying what broke the rules;
 * -2 when out of memory. */
int msg_links_canon(const struct cJSON *arr, size_t max_links, char **canon,
                    char *why, size_t why_max);

/* Returns whether canon (made by msg_links_canon) has an entry about the
 * peer id. */
bool msg_links_about(const char *canon, const char *id);

/* {"type":"links","from":"<from>","links":<canon>}: a new message (one
 * reference, caller owns) or NULL when out of memory. */
struct out_msg *msg_links(const char *from, const char *canon);

#endif
