/* The protocol with clients (msg.h): parsing by field table and the
 * server messages. The text checks it relies on are in msg_text.c, the
 * messages between sidecars in msg_node.c, the buffers in outmsg.c. */
#include "msg.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "metrics.h"
#include "msg_links.h"
#include "room.h"
#include "roomid.h"

/* ---- parsing by field table ---------------------------------------- */

#define MSG_NAME_RULE                                                          \
    "must be 1..64 bytes, visible, with no control or bidi characters"

/* F_COUNT: a whole number from 1 to 2^53 - 1 (what a JavaScript number
 * holds exactly), read into an int64_t (0 when absent). */
enum field_kind { F_STR, F_BOOL, F_COUNT, F_OBJECT, F_ARRAY, F_ANY };

struct field {
    const char *key;
    enum field_kind kind;
    bool required;
    size_t off; /* of the member in struct msg_in */
};

#define FSTR(k, req)                                                           \
    {                                                                          \
#k, F_STR, req, offsetof(struct msg_in, k)                             \
    }
#define FBOOL(k)                                                               \
    {                                                                          \
#k, F_BOOL, false, offsetof(struct msg_in, k)                          \
    }

static const struct field join_fields[] = {
    FSTR(room, true),
    FSTR(name, true),
    FBOOL(audio),
    FBOOL(video),
    FSTR(resume, false),
    FSTR(password, false),
    FSTR(token, false),
    {"attempt", F_COUNT, false, offsetof(struct msg_in, attempt)},
};
static const struct field signal_fields[] = {
    FSTR(to, true),
    {"data", F_OBJECT, true, offsetof(struct msg_in, data_item)},
};
static const struct field chat_fields[] = {FSTR(text, true), FSTR(to, false)};
static const struct field state_fields[] = {
    FBOOL(audio), FBOOL(video), FBOOL(screen), FBOOL(hand), FSTR(name, false),
};
static const struct field ping_fields[] = {
    {"t", F_ANY, false, offsetof(struct msg_in, t_item)},
};
static const struct field role_fields[] = {FSTR(to, true), FSTR(role, true)};
static const struct field to_fields[] = {FSTR(to, true)};
static const struct field mute_fields[] = {FSTR(to, false)};
static const struct field lock_fields[] = {
    {"locked", F_BOOL, true, offsetof(struct msg_in, locked)},
};
static const struct field password_fields[] = {FSTR(password, true)};
static const struct field knock_fields[] = {FSTR(id, true)};
static const struct field react_fields[] = {FSTR(emoji, true)};
static const struct field links_fields[] = {
    {"links", F_ARRAY, true, offsetof(struct msg_in, links_item)},
};

/* A few emoji, as Meet and Jitsi offer: thumbs up, clapping hands, red
 * heart, face with tears of joy, party popper, face with open mouth. */
const char *const msg_reactions[] = {
    "\xF0\x9F\x91\x8D",
    "\xF0\x9F\x91\x8F",
    "\xE2\x9D\xA4\xEF\xB8\x8F",
    "\xF0\x9F\x98\x82",
    "\xF0\x9F\x8E\x89",
    "\xF0\x9F\x98\xAE",
    NULL,
};

static int check_join(struct msg_in *m, const struct msg_limits *lim,
                      struct msg_err *err);
static int check_signal(struct msg_in *m, const struct msg_limits *lim,
                        struct msg_err *err);
static int check_chat(struct msg_in *m, const struct msg_limits *lim,
                      struct msg_err *err);
static int check_state(struct msg_in *m, const struct msg_limits *lim,
                       struct msg_err *err);
static int check_ping(struct msg_in *m, const struct msg_limits *lim,
                      struct msg_err *err);
static int check_role(struct msg_in *m, const struct msg_limits *lim,
                      struct msg_err *err);
static int check_password(struct msg_in *m, const struct msg_limits *lim,
                          struct msg_err *err);
static int check_react(struct msg_in *m, const struct msg_limits *lim,
                       struct msg_err *err);
static int check_links(struct msg_in *m, const struct msg_limits *lim,
                       struct msg_err *err);

/* A field table and its length, for specs. */
#define FIELDS(t) (t), sizeof(t) / sizeof(t)[0]

static const struct msg_spec {
    const char *name;
    const struct field *fields;
    size_t nfields;
    int (*check)(struct msg_in *m, const struct msg_limits *lim,
                 struct msg_err *err);
} specs[MSG_TYPE_COUNT] = {
    [MSG_JOIN] = {"join", FIELDS(join_fields), check_join},
    [MSG_SIGNAL] = {"signal", FIELDS(signal_fields), check_signal},
    [MSG_CHAT] = {"chat", FIELDS(chat_fields), check_chat},
    [MSG_STATE] = {"state", FIELDS(state_fields), check_state},
    [MSG_LEAVE] = {"leave", NULL, 0, NULL},
    [MSG_PING] = {"ping", FIELDS(ping_fields), check_ping},
    [MSG_REACT] = {"react", FIELDS(react_fields), check_react},
    [MSG_LINKS] = {"links", FIELDS(links_fields), check_links},
    [MSG_ICE] = {"ice", NULL, 0, NULL},
    [MSG_ROLE] = {"role", FIELDS(role_fields), check_role},
    [MSG_KICK] = {"kick", FIELDS(to_fields), NULL},
    [MSG_MUTE] = {"mute", FIELDS(mute_fields), NULL},
    [MSG_END] = {"end", NULL, 0, NULL},
    [MSG_LOCK] = {"lock", FIELDS(lock_fields), NULL},
    [MSG_PASSWORD] = {"password", FIELDS(password_fields), check_password},
    [MSG_ADMIT] = {"admit", FIELDS(knock_fields), NULL},
    [MSG_DENY] = {"deny", FIELDS(knock_fields), NULL},
};

const char *msg_type_name(enum msg_type t)
{
    return specs[t].name;
}

static const char *const code_names[MSG_CODE_COUNT] = {
    [MSG_E_BAD_JSON] = "bad-json",
    [MSG_E_BAD_MESSAGE] = "bad-message",
    [MSG_E_UNKNOWN_TYPE] = "unknown-type",
    [MSG_E_NOT_JOINED] = "not-joined",
    [MSG_E_ALREADY_JOINED] = "already-joined",
    [MSG_E_INVALID_ROOM] = "invalid-room",
    [MSG_E_ROOM_FULL] = "room-full",
    [MSG_E_NO_SUCH_PEER] = "no-such-peer",
    [MSG_E_RATE_LIMITED] = "rate-limited",
    [MSG_E_UNAVAILABLE] = "unavailable",
    [MSG_E_FORBIDDEN] = "forbidden",
    [MSG_E_PASSWORD_REQUIRED] = "password-required",
    [MSG_E_WRONG_PASSWORD] = "wrong-password",
    [MSG_E_BANNED] = "banned",
    [MSG_E_BAD_TOKEN] = "bad-token",
    [MSG_E_DENIED] = "denied",
    [MSG_E_KNOCK_TIMEOUT] = "knock-timeout",
};

const char *msg_code_name(enum msg_code code)
{
    return code_names[code];
}

/* Fills err; the message is "what why" (what may be NULL). */
static int fail(struct msg_err *err, enum msg_code code, const char *ref,
                const char *what, const char *why)
{
    err->code = code;
    err->ref = ref;
    snprintf(err->message, sizeof err->message, "%s%s%s", what ? what : "",
             what ? " " : "", why);
    return -1;
}

static int bad(struct msg_in *m, struct msg_err *err, const char *what,
               const char *why)
{
    return fail(err, MSG_E_BAD_MESSAGE, specs[m->type].name, what, why);
}

static int check_join(struct msg_in *m, const struct msg_limits *lim,
                      struct msg_err *err)
{
    (void)lim;
    if (!msg_name_valid(m->name))
        return bad(m, err, "name", MSG_NAME_RULE);
    if (!roomid_valid(m->room, strlen(m->room)))
        return fail(err, MSG_E_INVALID_ROOM, "join", NULL, "invalid room id");
    if (m->password != NULL &&
        (m->password[0] == '\0' || strlen(m->password) > ACCESS_PASSWORD_MAX))
        return bad(m, err, "password", "must be 1..128 bytes");
    if (m->token != NULL && strlen(m->token) > MSG_TOKEN_MAX)
        return bad(m, err, "token", "is over 4096 bytes");
    return 0;
}

static int check_role(struct msg_in *m, const struct msg_limits *lim,
                      struct msg_err *err)
{
    (void)lim;
    if (strcmp(m->role, "host") != 0 && strcmp(m->role, "guest") != 0)
        return bad(m, err, "role", "must be \"host\" or \"guest\"");
    return 0;
}

static int check_password(struct msg_in *m, const struct msg_limits *lim,
                          struct msg_err *err)
{
    (void)lim;
    if (strlen(m->password) > ACCESS_PASSWORD_MAX)
        return bad(m, err, "password", "must be 0..128 bytes");
    return 0;
}

static int check_react(struct msg_in *m, const struct msg_limits *lim,
                       struct msg_err *err)
{
    (void)lim;
    for (const char *const *r = msg_reactions; *r != NULL; r++)
        if (strcmp(m->emoji, *r) == 0)
            return 0;
    return bad(m, err, "emoji", "is not one of the reactions in limits");
}

/* The rules are msg_links.c's; the canonical array it makes is what the
 * hub relays. */
static int check_links(struct msg_in *m, const struct msg_limits *lim,
                       struct msg_err *err)
{
    char why[sizeof err->message];

    if (m->src_len > msg_links_max_bytes(lim->max_links))
        return bad(m, err, NULL, "links message is over maxLinksBytes");
    int r = msg_links_canon(m->links_item, lim->max_links, &m->links, why,
                            sizeof why);
    if (r == -2)
        return fail(err, MSG_E_UNAVAILABLE, "links", NULL, "out of memory");
    return r < 0 ? bad(m, err, NULL, why) : 0;
}

static int check_signal(struct msg_in *m, const struct msg_limits *lim,
                        struct msg_err *err)
{
    m->data = cJSON_PrintUnformatted(m->data_item);
    if (m->data == NULL) /* printing a parsed tree fails only for memory */
        return fail(err, MSG_E_UNAVAILABLE, "signal", NULL, "out of memory");
    if (strlen(m->data) > lim->max_signal_bytes)
        return bad(m, err, "data", "is over the size limit");
    return 0;
}

static int check_chat(struct msg_in *m, const struct msg_limits *lim,
                      struct msg_err *err)
{
    size_t n = msg_utf8_code_points(m->text);
    if (n < 1 || n > lim->max_chat_chars)
        return bad(m, err, "text", "must be 1..max characters");
    return 0;
}

static int check_state(struct msg_in *m, const struct msg_limits *lim,
                       struct msg_err *err)
{
    (void)lim;
    if (m->name != NULL && !msg_name_valid(m->name))
        return bad(m, err, "name", MSG_NAME_RULE);
    if (m->name == NULL && m->audio < 0 && m->video < 0 && m->screen < 0 &&
        m->hand < 0)
        return bad(m, err, "state", "needs audio, video, screen, hand or name");
    return 0;
}

/* t is echoed as the client wrote it, never re-printed: a pong is never
 * larger than its ping. */
static int check_ping(struct msg_in *m, const struct msg_limits *lim,
                      struct msg_err *err)
{
    const char *v;
    size_t n;

    (void)lim;
    if (m->t_item == NULL)
        return 0;
    unsigned long nomem = msg_json_nomem();
    if (msg_member_raw(m->src, m->src_len, "t", &v, &n) < 0)
        return msg_json_nomem() != nomem
                   ? fail(err, MSG_E_UNAVAILABLE, "ping", NULL, "out of memory")
                   : bad(m, err, "t", "is invalid");
    if (n > MSG_PING_T_MAX)
        return bad(m, err, "t", "is over 64 bytes");
    if ((m->t = malloc(n + 1)) == NULL)
        return fail(err, MSG_E_UNAVAILABLE, "ping", NULL, "out of memory");
    memcpy(m->t, v, n);
    m->t[n] = '\0';
    return 0;
}

static const char *kind_name(enum field_kind k)
{
    switch (k) {
    case F_STR:
        return "must be a string";
    case F_BOOL:
        return "must be a boolean";
    case F_COUNT:
        return "must be a whole number from 1 to 9007199254740991";
    case F_OBJECT:
        return "must be an object";
    case F_ARRAY:
        return "must be an array";
    case F_ANY:
        break;
    }
    return "is invalid";
}

static bool is_count(const cJSON *it)
{
    double v = cJSON_IsNumber(it) ? it->valuedouble : 0;
    return v >= 1 && v <= 9007199254740991.0 && v == (double)(int64_t)v;
}

static int read_fields(struct msg_in *m, struct msg_err *err)
{
    const struct msg_spec *sp = &specs[m->type];
    for (size_t i = 0; i < sp->nfields; i++) {
        const struct field *f = &sp->fields[i];
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(m->root, f->key);
        char *dst = (char *)m + f->off;
        if (it == NULL) {
            if (f->required)
                return bad(m, err, f->key, "is missing");
            continue;
        }
        bool ok = (f->kind == F_STR && cJSON_IsString(it)) ||
                  (f->kind == F_BOOL && cJSON_IsBool(it)) ||
                  (f->kind == F_COUNT && is_count(it)) ||
                  (f->kind == F_OBJECT && cJSON_IsObject(it)) ||
                  (f->kind == F_ARRAY && cJSON_IsArray(it)) || f->kind == F_ANY;
        if (!ok)
            return bad(m, err, f->key, kind_name(f->kind));
        if (f->kind == F_STR)
            *(const char **)dst = it->valuestring;
        else if (f->kind == F_BOOL)
            *(signed char *)dst = cJSON_IsTrue(it) ? 1 : 0;
        else if (f->kind == F_COUNT)
            *(int64_t *)dst = (int64_t)it->valuedouble;
        else
            *(const cJSON **)dst = it;
    }
    return 0;
}

static int find_type(const char *s, enum msg_type *out)
{
    for (int i = 0; i < MSG_TYPE_COUNT; i++) {
        if (strcmp(specs[i].name, s) == 0) {
            *out = (enum msg_type)i;
            return 0;
        }
    }
    return -1;
}

/* Sets err->ref to a copy of the unknown type, cut at a character
 * boundary so the answer stays valid UTF-8. */
static void ref_unknown(struct msg_err *err, const char *type)
{
    size_t n = strlen(type);
    if (n > 64) {
        n = 64;
        while (n > 0 && ((unsigned char)type[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(err->ref_buf, type, n);
    err->ref_buf[n] = '\0';
    err->ref = err->ref_buf;
}

static int parse_tree(const char *buf, size_t len, struct msg_in *m,
                      struct msg_err *err)
{
    const char *end = NULL;
    char *copy = NULL;

    if (msg_escaped_nul((char *)(uintptr_t)buf, len, false)) {
        m->has_nul = true;
        copy = malloc(len);
        if (copy == NULL)
            return fail(err, MSG_E_UNAVAILABLE, NULL, NULL, "out of memory");
        memcpy(copy, buf, len);
        msg_escaped_nul(copy, len, true);
        buf = copy;
    }
    unsigned long nomem = msg_json_nomem();
    m->root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    int r = 0;
    if (m->root == NULL && msg_json_nomem() != nomem) {
        r = fail(err, MSG_E_UNAVAILABLE, NULL, NULL, "out of memory");
    } else if (m->root == NULL) {
        r = fail(err, MSG_E_BAD_JSON, NULL, NULL, "not valid JSON");
    } else {
        while (end < buf + len && strchr(" \t\r\n", *end) != NULL)
            end++;
        if (end != buf + len)
            r = fail(err, MSG_E_BAD_JSON, NULL, NULL,
                     "text after the JSON value");
    }
    free(copy);
    return r;
}

int msg_parse(const char *buf, size_t len, const struct msg_limits *lim,
              struct msg_in *m, struct msg_err *err)
{
    memset(m, 0, sizeof *m);
    m->audio = m->video = m->screen = m->hand = m->locked = -1;
    if (memchr(buf, 0, len) != NULL ||
        !msg_utf8_valid((const unsigned char *)buf, len))
        return fail(err, MSG_E_BAD_JSON, NULL, NULL, "not valid JSON text");
    if (!msg_json_controls_ok(buf, len))
        return fail(err, MSG_E_BAD_JSON, NULL, NULL,
                    "control characters must be escaped");
    m->src = buf;
    m->src_len = len;
    if (parse_tree(buf, len, m, err) < 0)
        return -1;
    if (!cJSON_IsObject(m->root))
        return fail(err, MSG_E_BAD_MESSAGE, NULL, NULL,
                    "a message must be a JSON object");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m->root, "type");
    if (!cJSON_IsString(t))
        return fail(err, MSG_E_BAD_MESSAGE, NULL, NULL,
                    "type must be a string");
    if (find_type(t->valuestring, &m->type) < 0) {
        fail(err, MSG_E_UNKNOWN_TYPE, NULL, NULL, "unknown message type");
        ref_unknown(err, t->valuestring);
        return -1;
    }
    if (read_fields(m, err) < 0)
        return -1;
    if (specs[m->type].check != NULL && specs[m->type].check(m, lim, err) < 0)
        return -1;
    if (m->has_nul)
        return bad(m, err, NULL, "strings may not contain NUL");
    m->src = NULL;
    return 0;
}

void msg_in_clear(struct msg_in *m)
{
    cJSON_Delete(m->root);
    cJSON_free(m->data);
    free(m->t);
    free(m->links);
    m->root = NULL;
    m->data = m->t = m->links = NULL;
}

/* ---- server messages ----------------------------------------------- */

static void put_peer(struct sb *b, const struct peer *p)
{
    sb_puts(b, "{\"id\":");
    sb_json_str(b, p->id);
    sb_puts(b, ",\"name\":");
    sb_json_str(b, p->name);
    sb_printf(b,
              ",\"audio\":%s,\"video\":%s,\"screen\":%s,\"hand\":%s,"
              "\"role\":\"%s\"",
              p->audio ? "true" : "false", p->video ? "true" : "false",
              p->screen ? "true" : "false", p->hand ? "true" : "false",
              p->host ? "host" : "guest");
    if (p->hand && p->hand_at > 0)
        sb_printf(b, ",\"handAt\":%lld", (long long)p->hand_at);
    if (p->away) /* only while it holds: clients that know no away see none */
        sb_puts(b, ",\"away\":true");
    sb_puts(b, "}");
}

struct out_msg *msg_error(enum msg_code code, const char *message,
                          const char *reason, const char *ref)
{
    struct sb b = {0};
    sb_puts(&b, "{\"type\":\"error\",\"code\":");
    sb_json_str(&b, msg_code_name(code));
    sb_puts(&b, ",\"message\":");
    sb_json_str(&b, message);
    if (reason != NULL) {
        sb_puts(&b, ",\"reason\":");
        sb_json_str(&b, reason);
    }
    if (ref != NULL) {
        sb_puts(&b, ",\"ref\":");
        sb_json_str(&b, ref);
    }
    sb_puts(&b, "}");
    return sb_take_msg(&b);
}

struct out_msg *msg_pong(const char *t_json)
{
    struct sb b = {0};
    sb_puts(&b, "{\"type\":\"pong\"");
    if (t_json != NULL) {
        sb_puts(&b, ",\"t\":");
        sb_puts(&b, t_json);
    }
    sb_puts(&b, "}");
    return sb_take_msg(&b);
}

struct out_msg *msg_ice(const char *ice_json)
{
    struct sb b = {0};
    sb_puts(&b, "{\"type\":\"ice\",\"iceServers\":");
    sb_puts(&b, ice_json);
    sb_puts(&b, "}");
    return sb_take_msg(&b);
}

static struct out_msg *peer_msg(const char *type, const struct peer *p)
{
    struct sb b = {0};
    sb_puts(&b, "{\"type\":\"");
    sb_puts(&b, type);
    sb_puts(&b, "\",\"peer\":");
    put_peer(&b, p);
    sb_puts(&b, "}");
    return sb_take_msg(&b);
}

struct out_msg *msg_peer_joined(const struct peer *p)
{
    struct out_msg *m = peer_msg("peer-joined", p);
    out_msg_tag(m, OUT_PEER_JOINED, p->id);
    return m;
}

struct out_msg *msg_peer_state(const struct peer *p)
{
    struct out_msg *m = peer_msg("peer-state", p);
    out_msg_tag(m, OUT_PEER_STATE, p->id);
    return m;
}

/* peer-left about id for reason, with the host who removed it (by), if
 * any. */
static struct out_msg *peer_left(const char *id, const char *reason,
                                 const char *by)
{
    struct sb b = {0};
    sb_puts(&b, "{\"type\":\"peer-left\",\"id\":");
    sb_json_str(&b, id);
    sb_puts(&b, ",\"reason\":");
    sb_json_str(&b, reason);
    if (by != NULL) {
        sb_puts(&b, ",\"by\":");
        sb_json_str(&b, by);
    }
    sb_puts(&b, "}");
    struct out_msg *m = sb_take_msg(&b);
    out_msg_tag(m, OUT_PEER_LEFT, id);
    return m;
}

struct out_msg *msg_peer_left(const char *id, const char *reason)
{
    return peer_left(id, reason, NULL);
}

struct out_msg *msg_peer_removed(const char *id, const char *by)
{
    return peer_left(id, "kicked", by);
}

struct out_msg *msg_access(const struct msg_access *a)
{
    struct sb b = {0};
    sb_printf(&b, "{\"type\":\"access\",\"locked\":%s,\"password\":%s}",
              a->locked ? "true" : "false", a->password ? "true" : "false");
    return sb_take_msg(&b);
}

/* {"type":"<type>","<k1>":"<v1>"[,"<k2>":"<v2>"]}: a message of one or
 * (k2 not NULL) two string fields. */
static struct out_msg *strings_msg(const char *type, const char *k1,
                                   const char *v1, const char *k2,
                                   const char *v2)
{
    struct sb b = {0};
    sb_printf(&b, "{\"type\":\"%s\",\"%s\":", type, k1);
    sb_json_str(&b, v1);
    if (k2 != NULL) {
        sb_printf(&b, ",\"%s\":", k2);
        sb_json_str(&b, v2);
    }
    sb_puts(&b, "}");
    return sb_take_msg(&b);
}

struct out_msg *msg_knocking(const char *id, const char *token)
{
    return strings_msg("knocking", "id", id, "token", token);
}

static void put_knock(struct sb *b, const char *id, const char *name,
                      int64_t since)
{
    sb_puts(b, "{\"id\":");
    sb_json_str(b, id);
    sb_puts(b, ",\"name\":");
    sb_json_str(b, name);
    sb_printf(b, ",\"since\":%lld}", (long long)since);
}

struct out_msg *msg_lobby(const struct knock *head)
{
    struct sb b = {0};
    sb_puts(&b, "{\"type\":\"lobby\",\"waiting\":[");
    for (const struct knock *k = head; k != NULL; k = k->next) {
        if (k != head)
            sb_puts(&b, ",");
        put_knock(&b, k->id, k->name, k->since);
    }
    sb_puts(&b, "]}");
    return sb_take_msg(&b);
}

char *msg_knock_json(const char *id, const char *name, int64_t since)
{
    struct sb b = {0};
    put_knock(&b, id, name, since);
    return sb_take(&b);
}

struct out_msg *msg_mute_request(const char *by)
{
    return strings_msg("mute-request", "by", by, NULL, NULL);
}

struct out_msg *msg_reaction(const char *from, const char *emoji)
{
    return strings_msg("reaction", "from", from, "emoji", emoji);
}

struct out_msg *msg_ended(const char *reason, const char *by)
{
    return strings_msg("ended", "reason", reason, "by", by);
}

struct out_msg *msg_signal(const char *from, const char *data_json)
{
    struct sb b = {0};
    sb_puts(&b, "{\"type\":\"signal\",\"from\":");
    sb_json_str(&b, from);
    sb_puts(&b, ",\"data\":");
    sb_puts(&b, data_json);
    sb_puts(&b, "}");
    return sb_take_msg(&b);
}

struct out_msg *msg_chat(const char *from, const char *name, const char *text,
                         int64_t ts, const char *to)
{
    struct sb b = {0};
    sb_puts(&b, "{\"type\":\"chat\",\"from\":");
    sb_json_str(&b, from);
    sb_puts(&b, ",\"name\":");
    sb_json_str(&b, name);
    sb_puts(&b, ",\"text\":");
    sb_json_str(&b, text);
    sb_printf(&b, ",\"ts\":%lld", (long long)ts);
    if (to != NULL) {
        sb_puts(&b, ",\"to\":");
        sb_json_str(&b, to);
    }
    sb_puts(&b, "}");
    return sb_take_msg(&b);
}

char *msg_peer_json(const struct peer *p)
{
    struct sb b = {0};
    put_peer(&b, p);
    return sb_take(&b);
}

void msg_peer_apply(struct peer *p, const char *json, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(json, len);
    if (j == NULL)
        return; /* out of memory (the text came from a sidecar): unchanged */
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (cJSON_IsString(name))
        room_peer_set_name(p, name->valuestring);
    p->audio = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "audio"));
    p->video = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "video"));
    p->screen = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "screen"));
    p->hand = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "hand"));
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(j, "handAt");
    p->hand_at = p->hand && cJSON_IsNumber(at) && at->valuedouble > 0 &&
                         at->valuedouble < 1e15
                     ? (int64_t)at->valuedouble
                     : 0;
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(j, "role");
    p->host = cJSON_IsString(role) && strcmp(role->valuestring, "host") == 0;
    p->away = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "away"));
    cJSON_Delete(j);
}

char *msg_limits_json(const struct config *c)
{
    struct sb b = {0};
    sb_printf(&b, "{\"maxPeers\":%ld,\"maxMessageBytes\":%ld,", c->max_peers,
              c->max_message_bytes);
    sb_printf(&b, "\"maxSignalBytes\":%ld,\"maxChatChars\":%ld,",
              c->max_signal_bytes, c->max_chat_chars);
    sb_printf(&b, "\"maxNameBytes\":%d,\"chatBurst\":%ld,\"chatRate\":%ld,",
              MSG_NAME_MAX, c->chat_burst, c->chat_rate);
    sb_printf(&b, "\"signalBurst\":%ld,\"signalRate\":%ld,", c->signal_burst,
              c->signal_rate);
    sb_printf(&b, "\"pingIntervalMs\":%ld,\"resumeGraceMs\":%ld,",
              c->ping_interval_ms, c->resume_grace_ms);
    sb_printf(&b, "\"returnMs\":%ld,\"kickBanMs\":%ld,", c->return_s * 1000,
              c->kick_ban_s * 1000);
    sb_printf(&b, "\"reactionBurst\":%ld,\"reactionRate\":%ld,",
              c->reaction_burst, c->reaction_rate);
    sb_puts(&b, "\"reactions\":[");
    for (const char *const *r = msg_reactions; *r != NULL; r++) {
        if (r != msg_reactions)
            sb_puts(&b, ",");
        sb_json_str(&b, *r);
    }
    sb_printf(&b, "],\"linksBurst\":%ld,\"linksIntervalMs\":%ld,",
              c->links_burst, c->links_interval_ms);
    sb_printf(&b, "\"maxLinks\":%ld,\"maxLinksBytes\":%zu,", c->max_peers - 1,
              msg_links_max_bytes((size_t)c->max_peers - 1));
    sb_printf(&b, "\"turnTtlS\":%ld}", c->turn_ttl_s);
    return sb_take(&b);
}

/* The start of a welcome, up to and including the opening of "peers". */
static void put_welcome_head(struct sb *b, const struct peer *me,
                             const char *room, const char *resume)
{
    sb_puts(b, "{\"type\":\"welcome\",\"id\":");
    sb_json_str(b, me->id);
    sb_puts(b, ",\"room\":");
    sb_json_str(b, room);
    sb_puts(b, ",\"resume\":");
    sb_json_str(b, resume);
    sb_puts(b, ",\"self\":");
    put_peer(b, me);
    sb_puts(b, ",\"peers\":[");
}

/* Closes "chat", adds access, iceServers and limits; returns the message
 * (or NULL when memory ran out), taking b's buffer. */
static struct out_msg *put_welcome_tail(struct sb *b,
                                        const struct msg_access *access,
                                        const char *ice_json,
                                        const char *limits_json)
{
    sb_printf(b, "],\"access\":{\"locked\":%s,\"password\":%s}",
              access->locked ? "true" : "false",
              access->password ? "true" : "false");
    sb_puts(b, ",\"iceServers\":");
    sb_puts(b, ice_json);
    sb_puts(b, ",\"limits\":");
    sb_puts(b, limits_json);
    sb_puts(b, "}");
    return sb_take_msg(b);
}

struct out_msg *msg_welcome_raw(const struct peer *me, const char *room,
                                const char *resume, const char *peers_json,
                                const char *chat_json,
                                const struct msg_access *access,
                                const char *ice_json, const char *limits_json)
{
    struct sb b = {0};
    put_welcome_head(&b, me, room, resume);
    sb_puts(&b, peers_json);
    sb_puts(&b, "],\"chat\":[");
    sb_puts(&b, chat_json);
    return put_welcome_tail(&b, access, ice_json, limits_json);
}

struct out_msg *msg_welcome(const struct peer *me, const char *room,
                            const char *resume, const struct peer *const *peers,
                            size_t npeers, struct out_msg *const *chat,
                            size_t nchat, const struct msg_access *access,
                            const char *ice_json, const char *limits_json)
{
    struct sb b = {0};
    put_welcome_head(&b, me, room, resume);
    for (size_t i = 0; i < npeers; i++) {
        if (i)
            sb_puts(&b, ",");
        put_peer(&b, peers[i]);
    }
    sb_puts(&b, "],\"chat\":[");
    for (size_t i = 0; i < nchat; i++) {
        if (i)
            sb_puts(&b, ",");
        sb_putn(&b, out_msg_text(chat[i]), chat[i]->len);
    }
    return put_welcome_tail(&b, access, ice_json, limits_json);
}
