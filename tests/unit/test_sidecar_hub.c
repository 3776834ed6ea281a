/* The hub with recording ops in place of websockets. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "check.h"
#include "hub.h"

#define MAXLOG 64

struct fake {
    struct hub_conn hc;
    char *log[MAXLOG];
    int n;
    int close_code;
    const char *close_reason;
};

static bool f_send(struct hub_conn *c, struct out_msg *m)
{
    struct fake *f = (struct fake *)c;
    if (f->n < MAXLOG)
        f->log[f->n++] = strdup(out_msg_text(m));
    return true;
}

static void f_close(struct hub_conn *c, int code, const char *reason)
{
    struct fake *f = (struct fake *)c;
    f->close_code = code;
    f->close_reason = reason;
}

static void f_rearm(struct hub_conn *c, int64_t ms)
{
    (void)c;
    (void)ms;
}

static const struct hub_ops ops = {f_send, f_close, f_rearm, NULL};
static struct config cfg = {
    .max_peers = 3,
    .max_message_bytes = 65536,
    .max_signal_bytes = 49152,
    .max_chat_chars = 2000,
    .chat_burst = 5,
    .chat_rate = 2,
    .signal_burst = 200,
    .signal_rate = 50,
    .join_burst = 5,
    .join_rate = 1,
    .room_join_burst = 32,
    .room_join_rate = 8,
    .addr_join_burst = 30,
    .addr_join_rate = 10,
    .resume_grace_ms = 1500,
    .chat_history = 50,
    .chat_history_ttl_ms = 600000,
    .history_max_bytes = 1L << 20,
    .error_run = 10,
    .error_window_ms = 10000,
    .rate_limit_run = 50,
    .turn_ttl_s = 3600,
    .host_burst = 10,
    .host_rate = 2,
    .password_tries = 5,
    .room_password_tries = 20,
    .password_window_s = 60,
    .kick_ban_s = 300,
    .knock_timeout_s = 120,
    .lobby_max = 20,
    .links_burst = 2,
    .links_interval_ms = 2000,
};
static struct ice ice;

static void say(struct hub *h, struct fake *f, const char *s)
{
    hub_on_text(h, &f->hc, s, strlen(s), 0);
}

/* The last message f got, parsed (caller deletes), or NULL. */
static cJSON *last(struct fake *f)
{
    return f->n ? cJSON_Parse(f->log[f->n - 1]) : NULL;
}

static const char *last_field(struct fake *f, const char *key)
{
    static char buf[256];
    cJSON *j = last(f);
    cJSON *v = cJSON_GetObjectItem(j, key);
    snprintf(buf, sizeof buf, "%s", cJSON_IsString(v) ? v->valuestring : "?");
    cJSON_Delete(j);
    return buf;
}

/* key of the latest message of that type f got ("?" when none). */
static const char *field_of(struct fake *f, const char *type, const char *key)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "?");
    for (int i = f->n - 1; i >= 0; i--) {
        cJSON *j = cJSON_Parse(f->log[i]);
        cJSON *t = cJSON_GetObjectItem(j, "type");
        if (cJSON_IsString(t) && strcmp(t->valuestring, type) == 0) {
            cJSON *v = cJSON_GetObjectItem(j, key);
            snprintf(buf, sizeof buf, "%s",
                     cJSON_IsString(v)  ? v->valuestring
                     : cJSON_IsTrue(v)  ? "true"
                     : cJSON_IsFalse(v) ? "false"
                     : v != NULL        ? "(value)"
                                        : "?");
            cJSON_Delete(j);
            break;
        }
        cJSON_Delete(j);
    }
    return buf;
}

static void clear(struct fake *f, int n)
{
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < f[k].n; i++)
            free(f[k].log[i]);
        f[k].n = 0;
    }
}

static struct hub *setup(struct fake *f, int n)
{
    struct hub *h = hub_new(&cfg, &ops, &ice);
    memset(f, 0, sizeof *f * (size_t)n);
    for (int i = 0; i < n; i++)
        hub_conn_init(h, &f[i].hc, 0);
    return h;
}

static void join(struct hub *h, struct fake *f, const char *room)
{
    char buf[128];
    snprintf(buf, sizeof buf,
             "{\"type\":\"join\",\"room\":\"%s\",\"name\":\"n\"}", room);
    say(h, f, buf);
}

/* The join that takes p's seat in room "r" back with its token. */
static void resume_text(char *buf, size_t n, const struct peer *p)
{
    snprintf(
        buf, n,
        "{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"resume\":\"%s\"}",
        p->token);
}

TEST(welcome_lists_present_peers_and_others_get_peer_joined)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[0], "r");
    CHECK_STR(last_field(&f[0], "type"), "welcome");
    join(h, &f[1], "r");
    cJSON *w = last(&f[1]);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(w, "peers")) == 1);
    cJSON_Delete(w);
    CHECK_STR(last_field(&f[0], "type"), "peer-joined");
    clear(f, 2);
    hub_free(h);
}

TEST(ice_gives_the_sender_fresh_turn_credentials_only_in_a_room)
{
    struct fake f[2];
    CHECK(ice_init(&ice, NULL, "turn:t.example:3478", "north", 3600) == 0);
    struct hub *h = setup(f, 2);
    say(h, &f[0], "{\"type\":\"ice\"}");
    CHECK_STR(last_field(&f[0], "code"), "not-joined");
    CHECK_STR(last_field(&f[0], "ref"), "ice");
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    cJSON *w = last(&f[1]);
    cJSON *ttl =
        cJSON_GetObjectItem(cJSON_GetObjectItem(w, "limits"), "turnTtlS");
    CHECK(cJSON_IsNumber(ttl) && ttl->valueint == 3600);
    cJSON_Delete(w);
    clear(f, 2);
    say(h, &f[0], "{\"type\":\"ice\"}");
    CHECK(f[0].n == 1 && f[1].n == 0); /* the sender's alone */
    cJSON *m = last(&f[0]);
    cJSON *turn = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "iceServers"), 0);
    const char *user =
        cJSON_GetStringValue(cJSON_GetObjectItem(turn, "username"));
    const char *colon = user != NULL ? strchr(user, ':') : NULL;
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "type")), "ice");
    CHECK(colon != NULL && strcmp(colon + 1, f[0].hc.peer->id) == 0);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(turn, "credential")));
    cJSON_Delete(m);
    clear(f, 2);
    hub_free(h);
    ice_clear(&ice);
}

TEST(chat_reaches_the_room_and_the_sender_not_other_rooms)
{
    struct fake f[3];
    struct hub *h = setup(f, 3);
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    join(h, &f[2], "elsewhere");
    clear(f, 3);
    say(h, &f[0], "{\"type\":\"chat\",\"text\":\"hi\",\"from\":\"forged\"}");
    CHECK_STR(last_field(&f[0], "text"), "hi");
    CHECK_STR(last_field(&f[1], "text"), "hi");
    CHECK_STR(last_field(&f[1], "from"), f[0].hc.peer->id);
    CHECK(f[2].n == 0);
    clear(f, 3);
    hub_free(h);
}

TEST(private_chat_stays_out_of_the_history)
{
    struct fake f[3];
    struct hub *h = setup(f, 3);
    char buf[128];
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    snprintf(buf, sizeof buf,
             "{\"type\":\"chat\",\"text\":\"psst\",\"to\":\"%s\"}",
             f[1].hc.peer->id);
    say(h, &f[0], buf);
    CHECK_STR(last_field(&f[1], "to"), f[1].hc.peer->id);
    CHECK_STR(last_field(&f[0], "text"), "psst");
    say(h, &f[0], "{\"type\":\"chat\",\"text\":\"all\"}");
    join(h, &f[2], "r");
    cJSON *w = last(&f[2]);
    cJSON *chat = cJSON_GetObjectItem(w, "chat");
    CHECK(cJSON_GetArraySize(chat) == 1);
    CHECK_STR(
        cJSON_GetObjectItem(cJSON_GetArrayItem(chat, 0), "text")->valuestring,
        "all");
    cJSON_Delete(w);
    clear(f, 3);
    hub_free(h);
}

TEST(signal_to_self_or_stranger_is_no_such_peer)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    char buf[160];
    join(h, &f[0], "r");
    join(h, &f[1], "other");
    snprintf(buf, sizeof buf, "{\"type\":\"signal\",\"to\":\"%s\",\"data\":{}}",
             f[1].hc.peer->id);
    say(h, &f[0], buf);
    CHECK_STR(last_field(&f[0], "code"), "no-such-peer");
    snprintf(buf, sizeof buf, "{\"type\":\"signal\",\"to\":\"%s\",\"data\":{}}",
             f[0].hc.peer->id);
    say(h, &f[0], buf);
    CHECK_STR(last_field(&f[0], "code"), "no-such-peer");
    CHECK_STR(last_field(&f[0], "ref"), "signal");
    clear(f, 2);
    hub_free(h);
}

TEST(signal_to_a_seat_in_grace_is_dropped)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    char buf[160];
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    snprintf(buf, sizeof buf, "{\"type\":\"signal\",\"to\":\"%s\",\"data\":{}}",
             f[1].hc.peer->id);
    hub_on_end(h, &f[1].hc, HUB_END_GRACE, 0);
    clear(f, 2);
    say(h, &f[0], buf);
    CHECK(f[0].n == 0 && f[1].n == 0);
    hub_free(h);
}

TEST(state_goes_to_the_others_not_the_sender_but_a_hand_going_up)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    clear(f, 2);
    say(h, &f[0], "{\"type\":\"state\",\"audio\":false}");
    CHECK(f[0].n == 0 && f[1].n == 1);
    clear(f, 2);
    /* A hand going up is stamped (handAt), and its sender hears it too. */
    say(h, &f[0], "{\"type\":\"state\",\"hand\":true}");
    CHECK(f[0].n == 1 && f[1].n == 1);
    for (int i = 0; i < 2; i++) {
        cJSON *j = last(&f[i]);
        const cJSON *p = cJSON_GetObjectItem(j, "peer");
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(p, "hand")));
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(p, "handAt")) &&
              cJSON_GetObjectItem(p, "handAt")->valuedouble > 1e12);
        cJSON_Delete(j);
    }
    clear(f, 2);
    /* Up again (no change): the others only; down: no handAt. */
    say(h, &f[0], "{\"type\":\"state\",\"hand\":true}");
    CHECK(f[0].n == 0 && f[1].n == 1);
    say(h, &f[0], "{\"type\":\"state\",\"hand\":false}");
    cJSON *j = last(&f[1]);
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "peer"), "handAt") ==
          NULL);
    cJSON_Delete(j);
    clear(f, 2);
    hub_free(h);
}

static void say_at(struct hub *h, struct fake *f, const char *s, int64_t now)
{
    hub_on_text(h, &f->hc, s, strlen(s), now);
}

TEST(ten_bad_messages_within_the_window_close_good_ones_between_or_not)
{
    struct fake f[1];
    struct hub *h = setup(f, 1);
    for (int i = 0; i < 9; i++) {
        say(h, &f[0], "{");
        say(h, &f[0], "{\"type\":\"ping\"}"); /* does not reset */
    }
    CHECK(f[0].close_code == 0);
    say(h, &f[0], "[]");
    CHECK(f[0].close_code == 1008);
    clear(f, 1);
    hub_free(h);
}

TEST(bad_messages_spread_wider_than_the_window_do_not_close)
{
    struct fake f[1];
    struct hub *h = setup(f, 1);
    /* One a second for a minute: 10 per 10 s refill as fast as they come. */
    for (int i = 0; i < 60; i++)
        say_at(h, &f[0], "{", 1000 * (int64_t)i);
    CHECK(f[0].close_code == 0);
    for (int i = 0; i < 10; i++) /* then ten at once */
        say_at(h, &f[0], "{", 60000);
    CHECK(f[0].close_code == 1008);
    clear(f, 1);
    hub_free(h);
}

TEST(chat_flood_is_rate_limited_then_kicked)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    for (int i = 0; i < 5; i++)
        say(h, &f[0], "{\"type\":\"chat\",\"text\":\"x\"}");
    clear(f, 2);
    say(h, &f[0], "{\"type\":\"chat\",\"text\":\"x\"}");
    CHECK_STR(last_field(&f[0], "code"), "rate-limited");
    for (int i = 0; i < 49; i++)
        say(h, &f[0], "{\"type\":\"chat\",\"text\":\"x\"}");
    CHECK(f[0].close_code == 1008);
    CHECK_STR(field_of(&f[1], "peer-left", "reason"), "kicked");
    clear(f, 2);
    hub_free(h);
}

TEST(room_full_at_the_cap_and_already_joined)
{
    struct fake f[4];
    struct hub *h = setup(f, 4);
    for (int i = 0; i < 4; i++)
        join(h, &f[i], "r");
    CHECK_STR(last_field(&f[3], "code"), "room-full");
    join(h, &f[0], "r");
    CHECK_STR(last_field(&f[0], "code"), "already-joined");
    clear(f, 4);
    hub_free(h);
}

TEST(resume_while_open_replaces_the_old_connection)
{
    struct fake f[3];
    struct hub *h = setup(f, 3);
    char buf[160];
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    resume_text(buf, sizeof buf, f[0].hc.peer);
    clear(f, 3);
    say(h, &f[2], buf);
    CHECK_STR(last_field(&f[0], "reason"), "replaced");
    CHECK(f[0].close_code == 1000);
    CHECK(f[1].n == 0); /* the others see nothing */
    CHECK_STR(last_field(&f[2], "type"), "welcome");
    clear(f, 3);
    hub_free(h);
}

/* A stalled sidecar reads a page's resume late, after the page gave up
 * on that connection and resumed on a newer one (with the same token,
 * good until the newer one is used): refused, the newer one keeps the
 * seat. */
TEST(a_resume_read_after_a_later_one_of_the_same_page_is_refused_replaced)
{
    struct fake f[4];
    struct hub *h = setup(f, 4);
    char first[200], second[200], id[PEER_ID_LEN + 1];
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    snprintf(id, sizeof id, "%s", f[0].hc.peer->id);
    snprintf(first, sizeof first,
             "{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\","
             "\"resume\":\"%s\",\"attempt\":1}",
             f[0].hc.peer->token);
    snprintf(second, sizeof second, "%.*s2}", (int)strlen(first) - 2, first);
    hub_on_end(h, &f[0].hc, HUB_END_GRACE, 0);
    clear(f, 4);
    say(h, &f[3], second); /* the later one, read first */
    CHECK_STR(last_field(&f[3], "type"), "welcome");
    say(h, &f[2], first);
    CHECK_STR(last_field(&f[2], "type"), "peer-left");
    CHECK_STR(last_field(&f[2], "id"), id);
    CHECK_STR(last_field(&f[2], "reason"), "replaced");
    CHECK(f[2].close_code == 1000 && f[2].hc.peer == NULL);
    CHECK(f[3].close_code == 0);
    REQUIRE(f[3].hc.peer != NULL);
    CHECK_STR(f[3].hc.peer->id, id);
    clear(f, 4);
    hub_free(h);
}

/* A knocker's page whose connection dropped unseen comes back with the
 * knock's token: the new connection takes the knock's place (the host
 * sees nothing), the old one is told replaced and its end withdraws
 * nothing, an older resume read late is refused, and the admitted seat's
 * token is the knock's. */
TEST(a_knock_taken_over_by_its_pages_new_connection_keeps_its_place)
{
    struct fake f[4];
    struct hub *h = setup(f, 4);
    char id[PEER_ID_LEN + 1], token[TOKEN_LEN + 1], buf[200];
    join(h, &f[0], "r");
    say(h, &f[0], "{\"type\":\"lock\",\"locked\":true}");
    join(h, &f[1], "r");
    CHECK_STR(last_field(&f[1], "type"), "knocking");
    snprintf(id, sizeof id, "%s", last_field(&f[1], "id"));
    snprintf(token, sizeof token, "%s", last_field(&f[1], "token"));
    CHECK(strlen(token) == TOKEN_LEN);
    clear(f, 4);
    snprintf(buf, sizeof buf,
             "{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\","
             "\"resume\":\"%s\",\"attempt\":2}",
             token);
    say(h, &f[2], buf);
    CHECK_STR(last_field(&f[2], "type"), "knocking");
    CHECK_STR(last_field(&f[2], "id"), id);
    CHECK_STR(last_field(&f[2], "token"), token);
    CHECK_STR(last_field(&f[1], "type"), "peer-left");
    CHECK_STR(last_field(&f[1], "id"), id);
    CHECK_STR(last_field(&f[1], "reason"), "replaced");
    CHECK(f[1].close_code == 1000);
    hub_on_end(h, &f[1].hc, HUB_END_LEAVE, 0);
    buf[strlen(buf) - 2] = '1'; /* the older resume, read late */
    say(h, &f[3], buf);
    CHECK_STR(last_field(&f[3], "reason"), "replaced");
    CHECK(f[3].close_code == 1000);
    CHECK(f[0].n == 0 && f[2].close_code == 0);
    snprintf(buf, sizeof buf, "{\"type\":\"admit\",\"id\":\"%s\"}", id);
    say(h, &f[0], buf);
    CHECK_STR(field_of(&f[2], "welcome", "id"), id);
    CHECK_STR(field_of(&f[2], "welcome", "resume"), token);
    clear(f, 4);
    hub_free(h);
}

TEST(leave_and_grace_timeout_announce_peer_left)
{
    struct fake f[3];
    struct hub *h = setup(f, 3);
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    join(h, &f[2], "r");
    say(h, &f[1], "{\"type\":\"leave\"}");
    CHECK_STR(last_field(&f[0], "reason"), "left");
    hub_on_end(h, &f[2].hc, HUB_END_GRACE, 0);
    clear(f, 3);
    hub_tick(h, 1499);
    CHECK(f[0].n == 0);
    hub_tick(h, 1500);
    CHECK_STR(last_field(&f[0], "reason"), "timeout");
    clear(f, 3);
    hub_free(h);
}

/* Whether f's last message is a peer-state whose peer says "away":true. */
static bool last_says_away(struct fake *f)
{
    cJSON *j = last(f);
    bool away = cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "peer"), "away"));
    cJSON_Delete(j);
    return away;
}

TEST(grace_tells_the_others_away_and_a_resume_tells_them_back)
{
    struct fake f[4];
    struct hub *h = setup(f, 4);
    char buf[160];
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    join(h, &f[2], "r");
    resume_text(buf, sizeof buf, f[2].hc.peer);
    clear(f, 3);
    hub_on_end(h, &f[2].hc, HUB_END_GRACE, 0);
    for (int i = 0; i < 2; i++) {
        CHECK(f[i].n == 1);
        CHECK_STR(last_field(&f[i], "type"), "peer-state");
        CHECK(last_says_away(&f[i]));
    }
    CHECK(f[2].n == 0);
    clear(f, 3);
    say(h, &f[3], buf);
    cJSON *w = last(&f[3]);
    cJSON *self = cJSON_GetObjectItem(w, "self");
    CHECK(self != NULL && cJSON_GetObjectItem(self, "away") == NULL);
    cJSON_Delete(w);
    for (int i = 0; i < 2; i++) {
        CHECK(f[i].n == 1);
        CHECK_STR(last_field(&f[i], "type"), "peer-state");
        CHECK(!last_says_away(&f[i]));
    }
    clear(f, 4);
    hub_free(h);
}

TEST(a_drained_seat_waits_in_grace_and_tells_nobody)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    clear(f, 2);
    hub_on_end(h, &f[1].hc, HUB_END_DRAIN, 0);
    hub_tick(h, 1499);
    CHECK(f[0].n == 0);
    hub_tick(h, 1500);
    CHECK_STR(last_field(&f[0], "reason"), "timeout");
    clear(f, 2);
    hub_free(h);
}

static int count_type(struct fake *f, const char *type)
{
    char want[64];
    int n = 0;
    snprintf(want, sizeof want, "\"type\":\"%s\"", type);
    for (int i = 0; i < f->n; i++)
        n += strstr(f->log[i], want) != NULL;
    return n;
}

TEST(join_and_leave_churn_is_rate_limited_so_the_room_is_not_flooded)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[1], "r");
    clear(f, 2);
    for (int i = 0; i < 20; i++) {
        join(h, &f[0], "r");
        if (strcmp(last_field(&f[0], "type"), "welcome") == 0)
            say(h, &f[0], "{\"type\":\"leave\"}");
    }
    /* The join bucket holds 5 (clock stands still here): 5 joins went
     * through, the other 15 were answered rate-limited. */
    CHECK(count_type(&f[1], "peer-joined") == 5);
    CHECK(count_type(&f[1], "peer-left") == 5);
    join(h, &f[0], "r");
    CHECK_STR(last_field(&f[0], "code"), "rate-limited");
    CHECK_STR(last_field(&f[0], "ref"), "join");
    CHECK(f[1].close_code == 0);
    clear(f, 2);
    hub_free(h);
}

TEST(hub_seat_decided_in_redis_keeps_its_id_and_welcomes_from_the_snapshot)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[0], "r");
    clear(f, 1);
    struct hub_seat s = {.room = "r",
                         .name = "n",
                         .id = "AAAAAAAAAAAAAAAA",
                         .token = "BBBBBBBBBBBBBBBBBBBBBB",
                         .peers_json = "{\"id\":\"elsewhere\"}",
                         .chat_json = "",
                         .members = 3};
    struct peer *p = hub_seat(h, &f[1].hc, &s, 0);
    REQUIRE(p != NULL);
    CHECK(f[1].hc.peer == p);
    CHECK_STR(p->id, s.id);
    CHECK_STR(p->token, s.token);
    cJSON *w = last(&f[1]);
    cJSON *peers = cJSON_GetObjectItem(w, "peers");
    CHECK_STR(last_field(&f[1], "type"), "welcome");
    CHECK_STR(last_field(&f[1], "resume"), s.token);
    CHECK(cJSON_GetArraySize(peers) == 1); /* Redis' members, not ours */
    CHECK_STR(
        cJSON_GetObjectItem(cJSON_GetArrayItem(peers, 0), "id")->valuestring,
        "elsewhere");
    cJSON_Delete(w);
    CHECK_STR(last_field(&f[0], "type"), "peer-joined");
    clear(f, 2);
    hub_free(h);
}

/* Seats f as a resume Redis decided, of the seat whose stored peer object
 * is state, in room "r". */
static struct peer *resume_from_redis(struct hub *h, struct fake *f,
                                      const char *state)
{
    struct hub_seat s = {.room = "r",
                         .name = "n",
                         .resume = "CCCCCCCCCCCCCCCCCCCCCC",
                         .id = "AAAAAAAAAAAAAAAA",
                         .token = "BBBBBBBBBBBBBBBBBBBBBB",
                         .resumed = true,
                         .peer_json = state,
                         .peer_json_len = strlen(state),
                         .peers_json = "",
                         .chat_json = ""};
    return hub_seat(h, &f->hc, &s, 0);
}

TEST(hub_seat_resumed_in_redis_takes_its_state_and_tells_nobody)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[0], "r");
    clear(f, 1);
    const char *state = "{\"id\":\"A\",\"name\":\"moved\",\"audio\":true,"
                        "\"video\":false,\"screen\":true,\"hand\":false}";
    struct peer *p = resume_from_redis(h, &f[1], state);
    REQUIRE(p != NULL);
    CHECK_STR(p->name, "moved");
    CHECK(p->audio && !p->video && p->screen && !p->hand);
    CHECK(f[0].n == 0); /* the room knew it: no peer-joined */
    CHECK_STR(last_field(&f[1], "type"), "welcome");
    clear(f, 2);
    hub_free(h);
}

TEST(hub_seat_resumed_in_redis_while_away_tells_the_room_it_is_back)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[0], "r");
    clear(f, 1);
    const char *state = "{\"id\":\"A\",\"name\":\"moved\",\"audio\":true,"
                        "\"video\":false,\"screen\":false,\"hand\":false,"
                        "\"role\":\"guest\",\"away\":true}";
    struct peer *p = resume_from_redis(h, &f[1], state);
    REQUIRE(p != NULL);
    CHECK(!p->away);
    CHECK(f[0].n == 1);
    CHECK_STR(last_field(&f[0], "type"), "peer-state");
    CHECK(!last_says_away(&f[0]));
    CHECK_STR(last_field(&f[1], "type"), "welcome");
    clear(f, 2);
    hub_free(h);
}

/* A seat Redis gave a resume whose connection went before the answer. */
static struct peer *away_from_redis(struct hub *h, const char *id,
                                    const char *state)
{
    struct hub_seat s = {.room = "r",
                         .name = "n",
                         .id = id,
                         .token = "CCCCCCCCCCCCCCCCCCCCCC", /* the page's */
                         .role = 1,
                         .resumed = true,
                         .peer_json = state,
                         .peer_json_len = strlen(state)};
    return hub_seat_away(h, &s, 0);
}

TEST(hub_seat_away_waits_in_grace_for_the_token_the_page_has)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    char buf[160];
    size_t seats, grace;
    join(h, &f[0], "r");
    clear(f, 1);
    /* not away in Redis (its old connection was open on another node) */
    const char *state = "{\"id\":\"A\",\"name\":\"moved\",\"audio\":true,"
                        "\"video\":false,\"screen\":false,\"hand\":false,"
                        "\"role\":\"host\"}";
    struct peer *p = away_from_redis(h, "AAAAAAAAAAAAAAAA", state);
    REQUIRE(p != NULL);
    CHECK(p->conn == NULL && p->away && p->host);
    CHECK_STR(p->name, "moved");
    hub_seat_count(h, &seats, &grace);
    CHECK(seats == 2 && grace == 1);
    CHECK(f[0].n == 1); /* the room hears it is away, not that it joined */
    CHECK_STR(last_field(&f[0], "type"), "peer-state");
    CHECK(last_says_away(&f[0]));
    clear(f, 1);
    /* the page comes back with the token it has */
    resume_text(buf, sizeof buf, p);
    say(h, &f[1], buf);
    CHECK_STR(last_field(&f[1], "type"), "welcome");
    CHECK_STR(last_field(&f[1], "id"), "AAAAAAAAAAAAAAAA");
    CHECK(f[0].n == 1);
    CHECK(!last_says_away(&f[0]));
    hub_seat_count(h, &seats, &grace);
    CHECK(seats == 2 && grace == 0);
    clear(f, 2);
    /* one that never comes back ends with its grace; one away in Redis
     * already is not announced again */
    const char *gone = "{\"id\":\"D\",\"name\":\"gone\",\"audio\":false,"
                       "\"video\":false,\"screen\":false,\"hand\":false,"
                       "\"role\":\"guest\",\"away\":true}";
    REQUIRE(away_from_redis(h, "DDDDDDDDDDDDDDDD", gone) != NULL);
    CHECK(f[0].n == 0);
    hub_tick(h, 1499);
    CHECK(f[0].n == 0);
    hub_tick(h, 1500);
    CHECK_STR(last_field(&f[0], "type"), "peer-left");
    CHECK_STR(last_field(&f[0], "id"), "DDDDDDDDDDDDDDDD");
    CHECK_STR(last_field(&f[0], "reason"), "timeout");
    clear(f, 2);
    hub_free(h);
}

TEST(hub_seat_decided_in_redis_that_finds_no_room_here_is_unavailable)
{
    struct fake f[4];
    struct hub *h = setup(f, 4);
    for (int i = 0; i < 3; i++) /* max_peers is 3 */
        join(h, &f[i], "r");
    struct hub_seat s = {.room = "r",
                         .name = "n",
                         .id = "AAAAAAAAAAAAAAAA",
                         .token = "BBBBBBBBBBBBBBBBBBBBBB",
                         .peers_json = "",
                         .chat_json = ""};
    CHECK(hub_seat(h, &f[3].hc, &s, 0) == NULL);
    CHECK_STR(last_field(&f[3], "code"), "unavailable");
    CHECK(f[3].hc.peer == NULL);
    clear(f, 4);
    hub_free(h);
}

TEST(hub_drop_seat_closes_its_connection_replaced_without_a_peer_left)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    clear(f, 2);
    hub_drop_seat(h, f[1].hc.peer, 0);
    CHECK(f[0].n == 0);
    CHECK_STR(last_field(&f[1], "reason"), "replaced");
    CHECK(f[1].close_code == 1000 && f[1].hc.peer == NULL);
    CHECK(hub_room(h, "r")->npeers == 1);
    clear(f, 2);
    hub_free(h);
}

/* A links message of one entry about peer id. */
static void say_links(struct hub *h, struct fake *f, const char *id,
                      int64_t now)
{
    char buf[160];
    snprintf(buf, sizeof buf,
             "{\"type\":\"links\",\"links\":[{\"rtt\":12.4,"
             "\"state\":\"connected\",\"peer\":\"%s\"}]}",
             id);
    hub_on_text(h, &f->hc, buf, strlen(buf), now);
}

TEST(links_go_to_the_others_in_canonical_form_not_the_sender)
{
    struct fake f[3];
    struct hub *h = setup(f, 3);
    char want[160];
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    join(h, &f[2], "elsewhere");
    clear(f, 3);
    say_links(h, &f[0], f[1].hc.peer->id, 0);
    REQUIRE(f[1].n == 1);
    snprintf(want, sizeof want,
             "{\"type\":\"links\",\"from\":\"%s\",\"links\":[{\"peer\":"
             "\"%s\",\"state\":\"connected\",\"rtt\":12}]}",
             f[0].hc.peer->id, f[1].hc.peer->id);
    CHECK_STR(f[1].log[0], want);
    CHECK(f[0].n == 0 && f[2].n == 0);
    clear(f, 3);
    hub_free(h);
}

TEST(links_naming_the_sender_is_bad_message)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    clear(f, 2);
    say_links(h, &f[0], f[0].hc.peer->id, 0);
    CHECK_STR(last_field(&f[0], "code"), "bad-message");
    CHECK_STR(last_field(&f[0], "ref"), "links");
    CHECK(f[1].n == 0);
    clear(f, 2);
    hub_free(h);
}

TEST(links_bucket_holds_two_then_one_every_two_seconds)
{
    struct fake f[2];
    struct hub *h = setup(f, 2);
    join(h, &f[0], "r");
    join(h, &f[1], "r");
    clear(f, 2);
    const char *to = f[1].hc.peer->id;
    say_links(h, &f[0], to, 0);
    say_links(h, &f[0], to, 0);
    say_links(h, &f[0], to, 1999);
    CHECK(f[1].n == 2);
    CHECK_STR(last_field(&f[0], "code"), "rate-limited");
    CHECK_STR(last_field(&f[0], "ref"), "links");
    say_links(h, &f[0], to, 4000); /* full again: two */
    say_links(h, &f[0], to, 4001);
    CHECK(f[1].n == 4);
    say_links(h, &f[0], to, 4002);
    CHECK(f[1].n == 4);
    say(h, &f[0], "{\"type\":\"chat\",\"text\":\"own bucket\"}");
    CHECK_STR(last_field(&f[1], "text"), "own bucket");
    clear(f, 2);
    hub_free(h);
}
