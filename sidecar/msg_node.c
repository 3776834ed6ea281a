#include "msg_node.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAT_PREFIX "{\"type\":\"chat\","
#define LINKS_PREFIX "{\"type\":\"links\","

static const char *str_at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b != NULL)
        o = cJSON_GetObjectItemCaseSensitive(o, b);
    return cJSON_IsString(o) ? o->valuestring : NULL;
}

enum msg_node_kind msg_node_classify(const char *json, size_t len,
                                     struct cJSON **jp, const char **about)
{
    *about = NULL;
    *jp = NULL;
    if (len >= sizeof CHAT_PREFIX &&
        memcmp(json, CHAT_PREFIX, sizeof CHAT_PREFIX - 1) == 0)
        return MSG_NODE_CHAT; /* the busy case: no parse */
    if (len >= sizeof LINKS_PREFIX &&
        memcmp(json, LINKS_PREFIX, sizeof LINKS_PREFIX - 1) == 0)
        return MSG_NODE_OTHER; /* every member's, every few seconds */
    cJSON *j = *jp = cJSON_ParseWithLength(json, len);
    const char *type = str_at(j, "type", NULL);
    const char *id = str_at(j, "id", NULL);
    const char *pid = str_at(j, "peer", "id");
    if (type == NULL)
        return MSG_NODE_OTHER;
    if (strcmp(type, "peer-joined") == 0 && (*about = pid) != NULL)
        return MSG_NODE_JOINED;
    if (strcmp(type, "peer-state") == 0 && (*about = pid) != NULL)
        return MSG_NODE_STATE;
    if (strcmp(type, "peer-left") == 0 && (*about = id) != NULL)
        return MSG_NODE_LEFT;
    if (strcmp(type, MSG_MOVED_TYPE) == 0 && (*about = id) != NULL)
        return MSG_NODE_MOVED;
    if (strcmp(type, "ended") == 0)
        return MSG_NODE_ENDED;
    if (strcmp(type, "lobby") == 0)
        return MSG_NODE_LOBBY;
    if (strcmp(type, "access") == 0)
        return MSG_NODE_ACCESS;
    return MSG_NODE_OTHER;
}

/* The whole number 0..2^53-1 at key of j, or none when it is not one. */
static int64_t count_at(const cJSON *j, const char *key, int64_t none)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, key);
    bool ok = cJSON_IsNumber(m) && m->valuedouble >= 0 &&
              m->valuedouble < 9007199254740992.0; /* 2^53 */
    return ok ? (int64_t)m->valuedouble : none;
}

enum msg_knock_answer msg_node_knock_answer(const char *json, size_t len,
                                            char *why, size_t why_max,
                                            int64_t *attempt)
{
    cJSON *j = cJSON_ParseWithLength(json, len);
    const char *type = str_at(j, "type", NULL);
    const char *reason = str_at(j, "reason", NULL);
    enum msg_knock_answer a = MSG_KNOCK_NONE;

    if (type != NULL && strcmp(type, "x-admit") == 0) {
        a = MSG_KNOCK_ADMIT;
    } else if (type != NULL && strcmp(type, "x-deny") == 0) {
        a = MSG_KNOCK_DENY;
        snprintf(why, why_max, "%s", reason != NULL ? reason : "");
    } else if (type != NULL && strcmp(type, MSG_KNOCK_TAKEN_TYPE) == 0) {
        a = MSG_KNOCK_TAKEN;
        *attempt = count_at(j, "attempt", 0);
    }
    cJSON_Delete(j);
    return a;
}

struct out_msg *msg_node_moved(const char *id, int64_t moves)
{
    struct sb b = {0};
    sb_puts(&b, "{\"type\":\"" MSG_MOVED_TYPE "\",\"id\":");
    sb_json_str(&b, id);
    sb_printf(&b, ",\"moves\":%lld}", (long long)moves);
    return sb_take_msg(&b);
}

int64_t msg_node_moves(const struct cJSON *j)
{
    return count_at(j, "moves", INT64_MAX);
}

struct out_msg *msg_roster(const char *peers_json)
{
    struct sb b = {0};
    sb_puts(&b, "{\"type\":\"roster\",\"peers\":[");
    sb_puts(&b, peers_json);
    sb_puts(&b, "]}");
    return sb_take_msg(&b);
}

char *msg_node_wrap(const char *room, const char *to, const char *msg,
                    size_t msg_len, size_t *len)
{
    struct sb b = {0};
    sb_printf(&b, "{\"room\":\"%s\",\"to\":\"%s\",\"msg\":", room, to);
    sb_putn(&b, msg, msg_len);
    sb_puts(&b, "}");
    *len = b.len;
    return sb_take(&b);
}

/* Reads one "<key>":"<value>" at *s into out (NUL-terminated). */
static int take_field(const char **s, const char *end, const char *key,
                      char *out, size_t max)
{
    size_t k = strlen(key);
    if ((size_t)(end - *s) < k || memcmp(*s, key, k) != 0)
        return -1;
    const char *v = *s + k;
    const char *q = memchr(v, '"', (size_t)(end - v));
    if (q == NULL || (size_t)(q - v) >= max)
        return -1;
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = '\0';
    *s = q + 1;
    return 0;
}

int msg_node_unwrap(const char *json, size_t len, char *room, size_t room_max,
                    char *to, size_t to_max, const char **msg, size_t *msg_len)
{
    const char *s = json, *end = json + len;

    if (take_field(&s, end, "{\"room\":\"", room, room_max) < 0 ||
        take_field(&s, end, ",\"to\":\"", to, to_max) < 0 ||
        (size_t)(end - s) < 8 || memcmp(s, ",\"msg\":", 7) != 0 ||
        end[-1] != '}')
        return -1;
    *msg = s + 7;
    *msg_len = (size_t)(end - 1 - *msg);
    return 0;
}

char *msg_node_pj_wrap(const char *dst, const char *msg, size_t msg_len,
                       size_t *len)
{
    struct sb b = {0};
    sb_printf(&b, "{\"pj\":\"%s\",\"msg\":", dst);
    sb_putn(&b, msg, msg_len);
    sb_puts(&b, "}");
    *len = b.len;
    return sb_take(&b);
}

int msg_node_pj_unwrap(const char *json, size_t len, char *dst, size_t dst_max,
                       const char **msg, size_t *msg_len)
{
    const char *s = json, *end = json + len;

    if (take_field(&s, end, "{\"pj\":\"", dst, dst_max) < 0 ||
        (size_t)(end - s) < 8 || memcmp(s, ",\"msg\":", 7) != 0 ||
        end[-1] != '}')
        return -1;
    *msg = s + 7;
    *msg_len = (size_t)(end - 1 - *msg);
    return 0;
}

int msg_node_pj_open(const char *json, size_t len, char *id, size_t id_max,
                     char *node, size_t node_max)
{
    const char *s = json, *end = json + len;

    if (take_field(&s, end, "{\"pj-open\":\"", id, id_max) < 0 ||
        take_field(&s, end, ",\"node\":\"", node, node_max) < 0 ||
        end - s != 1 || *s != '}')
        return -1;
    return 0;
}
