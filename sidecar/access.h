/* access: who may enter a room, apart from its seats (room.h): the room's
 * password, stored salted and hashed; its lobby, the knocks waiting for a
 * host's answer while it is locked; and marks kept for a while: the bans
 * of the addresses of members a host removed, and the return tickets of
 * members who left. The rules that use them are the hub's
 * (docs/access.md); this module keeps the state. Pure but for getrandom
 * (salts, knock ids) and libcrypto (PBKDF2). */
#ifndef HUDDLE_ACCESS_H
#define HUDDLE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "htab.h"

#define ACCESS_PASSWORD_MAX 128 /* bytes */
#define ACCESS_KNOCK_ID_LEN 16  /* a knock's id becomes the seat's id */
/* A seat's resume token and a knock's (it becomes the seat's): 128 random
 * bits, base64url. */
#define TOKEN_LEN 22

/* A room password: PBKDF2-HMAC-SHA256 of the password with a random salt.
 * Zeroed: no password. */
struct access_pw {
    bool set;
    unsigned char salt[16];
    unsigned char hash[32];
};

/* Sets pw to password (1..ACCESS_PASSWORD_MAX bytes), or clears it when
 * password is "". Returns 0, or -1 (pw unchanged) when libcrypto fails. */
int access_pw_set(struct access_pw *pw, const char *password);

/* Returns true when password matches pw (false when pw is not set). Costs
 * one PBKDF2 run (a few milliseconds; docs/access.md). */
bool access_pw_check(const struct access_pw *pw, const char *password);

/* The same for a room whose password Redis keeps (docs/cluster.md), in
 * hex. access_pw_salt writes a new random salt (32 hex digits and a NUL);
 * access_pw_hex hashes password with salt into hash (64 hex digits and a
 * NUL) and returns 0, or -1 for a bad salt or when libcrypto fails. */
void access_pw_salt(char salt[33]);
int access_pw_hex(const char *salt, const char *password, char hash[65]);

struct room;

/* Someone waiting in a locked room's lobby. */
struct knock {
    char id[ACCESS_KNOCK_ID_LEN + 1];
    struct room *room; /* whose lobby: lives while it has seats */
    char *name;
    bool audio, video;
    void *conn;    /* the knocker's connection (the hub's) */
    int64_t since; /* wall clock ms, for the hosts' list */
    /* The secret a new connection of the knocker's page sends as its
     * resume token to take the knock's place (a network blink), and the
     * seat's first token once a host lets it in. */
    char token[TOKEN_LEN + 1];
    int64_t attempt; /* the number of the resume that took it last, or 0 */
    struct knock *next;
};

/* A room's lobby, oldest knock first. Zeroed: empty. */
struct lobby {
    struct knock *head;
    size_t n;
};

/* Appends a knock (a fresh random id and token) to room's lobby l and
 * returns it, or NULL when out of memory. */
struct knock *lobby_add(struct lobby *l, struct room *room, const char *name,
                        bool audio, bool video, void *conn, int64_t since);

/* The knock with this id, or NULL. */
struct knock *lobby_find(const struct lobby *l, const char *id);

/* The knock whose token is token, or NULL. */
struct knock *lobby_find_token(const struct lobby *l, const char *token);

/* Removes k from l and frees it. */
void lobby_remove(struct lobby *l, struct knock *k);

/* Marks: (room, key) pairs, each with a value, kept until a time
 * (monotonic ms). The hub keeps two tables of them: the bans (key: the
 * client address of a member a host removed) and the return tickets (key:
 * the resume token of a member who left, value: hub.c ticket_value;
 * docs/access.md, "Coming back"). Bounded: at most max entries; past it, ended
 * ones are dropped and, if none is, the new mark is not kept (logged by the
 * caller). */
struct marks;

/* Returns an empty table or NULL. */
struct marks *marks_new(size_t max);
void marks_free(struct marks *t);

/* Marks (room, key) with value until until; a later mark of the same pair
 * extends it (never shortens it) and takes its value. now is the time, for
 * dropping ended marks when full. Returns 0, or -1 when it could not be
 * kept (full, no memory, or room and key too long together). */
int marks_add(struct marks *t, const char *room, const char *key, int64_t value,
              int64_t now, int64_t until);

/* Returns true when (room, key) is marked at now, with its value in *value
 * (value may be NULL). An ended mark met on the way is dropped. */
bool marks_hit(struct marks *t, const char *room, const char *key, int64_t now,
               int64_t *value);

/* As marks_hit, and a mark found is removed: it is used once. */
bool marks_take(struct marks *t, const char *room, const char *key, int64_t now,
                int64_t *value);

/* Drops the marks that ended by now. */
void marks_sweep(struct marks *t, int64_t now);

size_t marks_count(const struct marks *t);

#endif
