#include "msg_links.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "room.h"

/* What a member of an entry holds: a peer id, one of a few words, true or
 * false, a whole number (rounded), or a number kept to a tenth (loss in
 * percent). */
enum link_kind { LK_PEER, LK_WORD, LK_BOOL, LK_INT, LK_TENTH };

struct link_field {
    const char *key;
    enum link_kind kind;
    bool required;
    const char *const *words; /* LK_WORD: NULL-terminated */
    double max;               /* numbers: 0..max */
};

/* RTCPeerConnection.connectionState. */
static const char *const states[] = {
    "new", "connecting", "connected", "disconnected", "failed", "closed", NULL,
};
/* The local candidate type of the selected candidate pair. */
static const char *const paths[] = {"host", "srflx", "prflx", "relay", NULL};
/* Its transport (a relay: the transport to the TURN server; TLS is TCP). */
static const char *const protos[] = {"udp", "tcp", NULL};
/* RTCOutboundRtpStreamStats.qualityLimitationReason. */
static const char *const reasons[] = {"none", "cpu", "bandwidth", "other",
                                      NULL};
/* The step the sender's mesh is taking to repair the link, if any. */
static const char *const repairs[] = {
    "ice-restart", "relay", "reoffer", "repaired", "gave-up", "retry", NULL};

/* One row per member, in the order of the canonical form. */
static const struct link_field fields[] = {
    {"peer", LK_PEER, true, NULL, 0},
    {"state", LK_WORD, true, states, 0},
    {"path", LK_WORD, false, paths, 0},
    {"proto", LK_WORD, false, protos, 0},
    {"udp", LK_BOOL, false, NULL, 0},    /* UDP reaches a STUN or TURN server */
    {"rtt", LK_INT, false, NULL, 60000}, /* ms */
    {"loss", LK_TENTH, false, NULL, 100},   /* % of packets */
    {"jitter", LK_INT, false, NULL, 60000}, /* ms */
    {"out", LK_INT, false, NULL, 10000000}, /* kbit/s sent */
    {"in", LK_INT, false, NULL, 10000000},  /* kbit/s received */
    {"fps", LK_INT, false, NULL, 1000},     /* frames per second */
    {"w", LK_INT, false, NULL, 16384},      /* px */
    {"h", LK_INT, false, NULL, 16384},      /* px */
    {"limit", LK_WORD, false, reasons, 0},
    {"repair", LK_WORD, false, repairs, 0},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

size_t msg_links_max_bytes(size_t max_links)
{
    return MSG_LINKS_HEAD_BYTES + MSG_LINKS_ENTRY_BYTES * max_links;
}

static bool peer_id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n != PEER_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static bool word_valid(const char *s, const char *const *words)
{
    for (const char *const *w = words; *w != NULL; w++)
        if (strcmp(s, *w) == 0)
            return true;
    return false;
}

/* Returns NULL when it holds the value f wants, else why not. */
static const char *value_problem(const struct link_field *f, const cJSON *v)
{
    switch (f->kind) {
    case LK_PEER:
        if (!cJSON_IsString(v) || !peer_id_valid(v->valuestring))
            return "must be a peer id";
        return NULL;
    case LK_WORD:
        if (!cJSON_IsString(v) || !word_valid(v->valuestring, f->words))
            return "is not one of its words";
        return NULL;
    case LK_BOOL:
        if (!cJSON_IsBool(v))
            return "must be true or false";
        return NULL;
    case LK_INT:
    case LK_TENTH:
        if (!cJSON_IsNumber(v))
            return "must be a number";
        if (!isfinite(v->valuedouble) || v->valuedouble < 0 ||
            v->valuedouble > f->max)
            return "is out of range";
        return NULL;
    }
    return "is invalid";
}

/* Writes v, valid for f, in its canonical form. */
static void put_value(struct sb *b, const struct link_field *f, const cJSON *v)
{
    long long t;

    sb_printf(b, "\"%s\":", f->key);
    switch (f->kind) {
    case LK_PEER:
    case LK_WORD: /* checked: needs no escaping */
        sb_printf(b, "\"%s\"", v->valuestring);
        break;
    case LK_BOOL:
        sb_puts(b, cJSON_IsTrue(v) ? "true" : "false");
        break;
    case LK_INT:
        sb_printf(b, "%lld", llround(v->valuedouble));
        break;
    case LK_TENTH:
        t = llround(v->valuedouble * 10);
        if (t % 10 == 0)
            sb_printf(b, "%lld", t / 10);
        else
            sb_printf(b, "%lld.%lld", t / 10, t % 10);
        break;
    }
}

/* Finds each member of entry e in fields (into got, by row). Returns NULL,
 * or why e breaks the rules. */
static const char *collect(const cJSON *e, const cJSON *got[NFIELDS],
                           size_t *bad_field)
{
    memset(got, 0, NFIELDS * sizeof got[0]);
    if (!cJSON_IsObject(e))
        return "must be an object";
    for (const cJSON *v = e->child; v != NULL; v = v->next) {
        size_t i = 0;
        while (i < NFIELDS && strcmp(fields[i].key, v->string) != 0)
            i++;
        if (i == NFIELDS)
            return "has an unknown member";
        if (got[i] != NULL)
            return "has a member twice";
        got[i] = v;
    }
    for (size_t i = 0; i < NFIELDS; i++) {
        *bad_field = i;
        if (got[i] == NULL && fields[i].required)
            return "is missing";
        const char *problem =
            got[i] != NULL ? value_problem(&fields[i], got[i]) : NULL;
        if (problem != NULL)
            return problem;
    }
    return NULL;
}

/* Returns whether peer, entry e's, is named by an entry before e. */
static bool peer_seen(const cJSON *arr, const cJSON *e, const char *peer)
{
    for (const cJSON *x = arr->child; x != e; x = x->next) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(x, "peer");
        if (strcmp(p->valuestring, peer) == 0)
            return true;
    }
    return false;
}

/* Checks entry number n (e) and appends it to b; returns 0, or -1 with
 * why filled. */
static int put_entry(struct sb *b, const cJSON *arr, const cJSON *e, int n,
                     char *why, size_t why_max)
{
    const cJSON *got[NFIELDS];
    size_t bad_field = NFIELDS;
    const char *problem = collect(e, got, &bad_field);

    if (problem == NULL && peer_seen(arr, e, got[0]->valuestring)) {
        problem = "is named twice";
        bad_field = 0;
    }
    if (problem != NULL && bad_field < NFIELDS) {
        snprintf(why, why_max, "links[%d].%s %s", n, fields[bad_field].key,
                 problem);
        return -1;
    }
    if (problem != NULL) {
        snprintf(why, why_max, "links[%d] %s", n, problem);
        return -1;
    }
    sb_puts(b, n > 0 ? ",{" : "{");
    for (size_t i = 0, put = 0; i < NFIELDS; i++) {
        if (got[i] == NULL)
            continue;
        if (put++ > 0)
            sb_puts(b, ",");
        put_value(b, &fields[i], got[i]);
    }
    sb_puts(b, "}");
    return 0;
}

int msg_links_canon(const struct cJSON *arr, size_t max_links, char **canon,
                    char *why, size_t why_max)
{
    struct sb b = {0};
    int n = 0;

    *canon = NULL;
    if (!cJSON_IsArray(arr)) {
        snprintf(why, why_max, "links must be an array");
        return -1;
    }
    if ((size_t)cJSON_GetArraySize(arr) > max_links) {
        snprintf(why, why_max, "links has over %zu entries", max_links);
        return -1;
    }
    sb_puts(&b, "[");
    for (const cJSON *e = arr->child; e != NULL; e = e->next, n++) {
        if (put_entry(&b, arr, e, n, why, why_max) < 0) {
            free(sb_take(&b));
            return -1;
        }
    }
    sb_puts(&b, "]");
    *canon = sb_take(&b);
    return *canon != NULL ? 0 : -2;
}

bool msg_links_about(const char *canon, const char *id)
{
    char key[PEER_ID_LEN + 16];

    snprintf(key, sizeof key, "{\"peer\":\"%s\"", id);
    return strstr(canon, key) != NULL;
}

struct out_msg *msg_links(const char *from, const char *canon)
{
    struct sb b = {0};

    sb_puts(&b, "{\"type\":\"links\",\"from\":");
    sb_json_str(&b, from);
    sb_puts(&b, ",\"links\":");
    sb_puts(&b, canon);
    sb_puts(&b, "}");
    return sb_take_msg(&b);
}
