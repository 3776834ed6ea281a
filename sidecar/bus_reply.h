/* bus_reply: reads the Lua scripts' answers (sidecar/bus_lua.h) from the
 * reply trees hiredis builds. Pure: it reads hiredis' redisReply struct
 * but calls nothing of hiredis and does no I/O, so tests/fuzz/
 * fuzz_bus_reply.c feeds it whatever RESP it likes. */
#ifndef HUDDLE_BUS_REPLY_H
#define HUDDLE_BUS_REPLY_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "bus.h"

/* Returns true when r is the string s. */
bool bus_reply_is(const redisReply *r, const char *s);

/* Reads the answer of the join, resume and room scripts into *out:
 * status, members and chat history (oldest first), the seat's access
 * (join and resume), the salt of BUS_PASSWORD, and for a resume the seat
 * taken back. A malformed answer gives BUS_ERR (logged). The strings
 * of *out point into r; the arrays are in *mem, which the caller frees
 * (free(NULL) when there is none) once done with *out. */
void bus_reply_room(const redisReply *r, struct bus_room *out, void **mem);

/* Reads the answer of the leave and update scripts (and of drain): 1 is
 * BUS_OK, another integer BUS_NONE; of the host script: the status it
 * names (bus_status_name); anything else BUS_ERR. */
enum bus_status bus_reply_done(const redisReply *r);

#endif
