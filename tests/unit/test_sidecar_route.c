/* The cluster's routing table (sidecar/route.h) and the wire formats
 * between nodes (sidecar/msg_node.h). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hub.h"
#include "msg_node.h"
#include "route.h"

static const struct bus_member members[] = {
    {"a", "n2", "{}", 2}, {"b", "n3", "{}", 2}, {"me", "n1", "{}", 2}};

/* Two nodes' x-moved of one seat may come out of order: the later move
 * wins whichever comes last; an x-moved with no count (an older sidecar)
 * is obeyed, as a peer-joined is. */
TEST(route_moved_keeps_the_later_move)
{
    struct route *rt = route_new();
    struct route_room *r = route_room(rt, "room", true);
    REQUIRE(r != NULL);
    route_set(r, "a", "n1");
    route_moved(r, "a", "n3", 2);
    route_moved(r, "a", "n2", 1); /* late */
    CHECK_STR(route_find(r, "a")->node, "n3");
    route_moved(r, "a", "n2", 3);
    CHECK_STR(route_find(r, "a")->node, "n2");
    route_set(r, "a", "n4");
    CHECK_STR(route_find(r, "a")->node, "n4");
    route_moved(r, "a", "n5", INT64_MAX); /* no count: taken, count kept */
    CHECK_STR(route_find(r, "a")->node, "n5");
    route_moved(r, "a", "n6", 2); /* still older than the third */
    CHECK_STR(route_find(r, "a")->node, "n5");
    route_moved(r, "b", "n2", 1); /* unknown until now */
    CHECK_STR(route_find(r, "b")->node, "n2");
    route_free(rt);
}

TEST(route_set_find_and_del)
{
    struct route *rt = route_new();
    struct route_room *r = route_room(rt, "room", true);

    REQUIRE(r != NULL);
    CHECK(route_room(rt, "room", false) == r);
    CHECK(route_room(rt, "nope", false) == NULL);
    route_set(r, "a", "n2");
    route_set(r, "a", "n3"); /* moved: one entry, the new node */
    REQUIRE(route_find(r, "a") != NULL);
    CHECK_STR(route_find(r, "a")->node, "n3");
    CHECK(route_find(r, "a")->next == NULL);
    route_set(r, "x", "");                   /* no node: ignored */
    route_set(r, "12345678901234567", "n2"); /* too long: ignored */
    CHECK(route_find(r, "x") == NULL);
    route_del(r, "a");
    CHECK(route_find(r, "a") == NULL);
    route_set(NULL, "a", "n2"); /* no room: nothing */
    CHECK(route_find(NULL, "a") == NULL);
    route_free(rt);
}

TEST(route_load_keeps_only_members_elsewhere)
{
    struct route *rt = route_new();
    struct route_room *r = route_room(rt, "room", true);

    REQUIRE(r != NULL);
    route_set(r, "old", "n9");
    route_load(r, members, 3, "n1");
    CHECK(route_find(r, "old") == NULL);
    CHECK(route_find(r, "a") != NULL && route_find(r, "b") != NULL);
    CHECK(route_find(r, "me") == NULL);
    route_free(rt);
}

TEST(route_merge_records_knowers_and_prunes_those_gone)
{
    struct route *rt = route_new();
    struct route_room *r = route_room(rt, "room", true);
    struct room_cfg rc = {8, 0, 0, 0, 0};
    struct room_reg *reg = room_reg_new(&rc);
    struct room_seat s1 = {.name = "x", .id = "j1"},
                     s2 = {.name = "y", .id = "j2"};
    struct peer *p1, *p2;
    void *old;
    int c1, c2;

    REQUIRE(r != NULL && reg != NULL);
    REQUIRE(room_join(reg, "room", &c1, &s1, 0, &p1, &old) == ROOM_JOINED);
    REQUIRE(room_join(reg, "room", &c2, &s2, 0, &p2, &old) == ROOM_JOINED);
    route_merge(r, members, 3, "n1", "j1", p1->room);
    route_merge(r, members, 3, "n1", "j2", p1->room);
    struct route_peer *a = route_find(r, "a");
    REQUIRE(a != NULL);
    CHECK(route_knows(a, "j1") && route_knows(a, "j2"));
    CHECK(!route_knows(a, "zz") && !route_knows(NULL, "j1"));
    CHECK(route_find(r, "me") == NULL);
    room_leave(reg, p1, 0); /* j1 is gone: forgotten at the next merge */
    route_merge(r, members, 3, "n1", "j3", p2->room);
    CHECK(!route_knows(a, "j1") && route_knows(a, "j2") &&
          route_knows(a, "j3"));
    route_forget_knowers(a);
    CHECK(a->nknowers == 0 && !route_knows(a, "j2"));
    room_reg_free(reg);
    route_free(rt);
}

TEST(route_merge_without_a_joiner_adds_and_forgets_nobody)
{
    struct route *rt = route_new();
    struct route_room *r = route_room(rt, "room", true);

    REQUIRE(r != NULL);
    route_set(r, "old", "n9");
    route_merge(r, members, 3, "n1", NULL, NULL);
    CHECK(route_find(r, "old") != NULL);
    CHECK(route_find(r, "a") != NULL && route_find(r, "b") != NULL);
    CHECK(route_find(r, "me") == NULL);
    CHECK(route_find(r, "a")->nknowers == 0);
    route_free(rt);
}

TEST(route_lacks_says_whether_a_routed_member_is_not_listed)
{
    struct route *rt = route_new();
    struct route_room *r = route_room(rt, "room", true);

    REQUIRE(r != NULL);
    CHECK(!route_lacks(r, members, 3)); /* routes to nobody */
    route_load(r, members, 3, "n1");
    CHECK(!route_lacks(r, members, 3));
    CHECK(route_lacks(r, members + 1, 2)); /* "a" is not listed */
    CHECK(route_lacks(r, NULL, 0));
    CHECK(!route_lacks(NULL, members, 3));
    route_free(rt);
}

TEST(route_next_visits_every_room_once_and_drop_removes)
{
    struct route *rt = route_new();
    char id[16];
    int seen = 0;

    REQUIRE(rt != NULL);
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof id, "r%d", i);
        REQUIRE(route_room(rt, id, true) != NULL);
    }
    for (struct route_room *r = route_next(rt, NULL); r != NULL;
         r = route_next(rt, r))
        seen++;
    CHECK(seen == 50);
    route_room_drop(rt, route_room(rt, "r7", false));
    CHECK(route_room(rt, "r7", false) == NULL);
    seen = 0;
    for (struct route_room *r = route_next(rt, NULL); r != NULL;
         r = route_next(rt, r))
        seen++;
    CHECK(seen == 49);
    route_free(rt);
}

static enum msg_node_kind kind_of(const char *s, const char **about, char *buf,
                                  size_t max)
{
    cJSON *j = NULL;
    enum msg_node_kind k = msg_node_classify(s, strlen(s), &j, about);
    if (*about != NULL)
        snprintf(buf, max, "%s", *about);
    cJSON_Delete(j);
    return k;
}

TEST(msg_node_classify_reads_the_presence_kinds)
{
    const char *about;
    char id[32] = "";

    CHECK(kind_of("{\"type\":\"peer-joined\",\"peer\":{\"id\":\"a\"}}", &about,
                  id, sizeof id) == MSG_NODE_JOINED);
    CHECK_STR(id, "a");
    CHECK(kind_of("{\"type\":\"peer-state\",\"peer\":{\"id\":\"b\"}}", &about,
                  id, sizeof id) == MSG_NODE_STATE);
    CHECK_STR(id, "b");
    CHECK(kind_of("{\"type\":\"peer-left\",\"id\":\"c\",\"reason\":\"left\"}",
                  &about, id, sizeof id) == MSG_NODE_LEFT);
    CHECK_STR(id, "c");
    CHECK(kind_of("{\"type\":\"x-moved\",\"id\":\"d\"}", &about, id,
                  sizeof id) == MSG_NODE_MOVED);
    CHECK_STR(id, "d");
    CHECK(kind_of("{\"type\":\"chat\",\"from\":\"a\"}", &about, id,
                  sizeof id) == MSG_NODE_CHAT);
    CHECK(about == NULL);
    /* a presence kind without its id is nothing the cluster looks into */
    CHECK(kind_of("{\"type\":\"peer-left\"}", &about, id, sizeof id) ==
          MSG_NODE_OTHER);
    CHECK(about == NULL);
    CHECK(kind_of("not json", &about, id, sizeof id) == MSG_NODE_OTHER);
}

TEST(msg_node_classify_reads_what_redis_decides)
{
    const char *about;
    char id[32] = "";

    CHECK(kind_of("{\"type\":\"ended\",\"reason\":\"ended\"}", &about, id,
                  sizeof id) == MSG_NODE_ENDED);
    CHECK(kind_of("{\"type\":\"lobby\",\"waiting\":[]}", &about, id,
                  sizeof id) == MSG_NODE_LOBBY);
    CHECK(kind_of("{\"type\":\"access\",\"locked\":true,\"password\":false}",
                  &about, id, sizeof id) == MSG_NODE_ACCESS);
    CHECK(about == NULL);
}

TEST(msg_node_classify_passes_links_on_unparsed)
{
    const char *s = "{\"type\":\"links\",\"from\":\"a\",\"links\":[]}";
    const char *about = "x";
    cJSON *j = NULL;

    CHECK(msg_node_classify(s, strlen(s), &j, &about) == MSG_NODE_OTHER);
    CHECK(j == NULL && about == NULL);
    cJSON_Delete(j);
}

TEST(msg_node_wrap_and_unwrap_round_trip)
{
    size_t len, msg_len;
    char room[65], to[17];
    const char *msg;
    char *w = msg_node_wrap("room", "peer", "{\"type\":\"signal\"}", 17, &len);

    REQUIRE(w != NULL);
    CHECK_STR(w, "{\"room\":\"room\",\"to\":\"peer\",\"msg\":{\"type\":"
                 "\"signal\"}}");
    CHECK(len == strlen(w));
    REQUIRE(msg_node_unwrap(w, len, room, sizeof room, to, sizeof to, &msg,
                            &msg_len) == 0);
    CHECK_STR(room, "room");
    CHECK_STR(to, "peer");
    CHECK(msg_len == 17 && memcmp(msg, "{\"type\":\"signal\"}", 17) == 0);
    CHECK(msg_node_unwrap(w, len, room, sizeof room, to, 4, &msg, &msg_len) ==
          -1); /* "peer" does not fit in 4 */
    CHECK(msg_node_unwrap("{\"room\":\"r\"}", 12, room, sizeof room, to,
                          sizeof to, &msg, &msg_len) == -1);
    free(w);
}

TEST(msg_node_moved_and_roster_texts)
{
    struct out_msg *m = msg_node_moved("abc", 3);
    struct out_msg *r = msg_roster("{\"id\":\"a\"}");
    cJSON *j = NULL;
    const char *about;

    REQUIRE(m != NULL && r != NULL);
    CHECK_STR(out_msg_text(m),
              "{\"type\":\"x-moved\",\"id\":\"abc\",\"moves\":3}");
    CHECK(msg_node_classify(out_msg_text(m), m->len, &j, &about) ==
          MSG_NODE_MOVED);
    CHECK(msg_node_moves(j) == 3);
    cJSON_Delete(j);
    /* an older sidecar's x-moved, with no moves, is never taken for stale */
    static const char old[] = "{\"type\":\"x-moved\",\"id\":\"abc\"}";
    CHECK(msg_node_classify(old, strlen(old), &j, &about) == MSG_NODE_MOVED);
    CHECK(msg_node_moves(j) == INT64_MAX);
    cJSON_Delete(j);
    CHECK_STR(out_msg_text(r),
              "{\"type\":\"roster\",\"peers\":[{\"id\":\"a\"}]}");
    out_msg_unref(m);
    out_msg_unref(r);
}

TEST(msg_node_pj_wraps_unwraps_and_reads_pj_open)
{
    static const char msg[] = "{\"type\":\"OFFER\",\"src\":\"a b\"}";
    char dst[65], id[65], node[32];
    const char *inner;
    size_t len, inner_len;
    char *w = msg_node_pj_wrap("bob x", msg, strlen(msg), &len);

    REQUIRE(w != NULL);
    CHECK(strlen(w) == len);
    CHECK(strcmp(w, "{\"pj\":\"bob x\",\"msg\":{\"type\":\"OFFER\",\"src\":\"a "
                    "b\"}}") == 0);
    CHECK(msg_node_pj_unwrap(w, len, dst, sizeof dst, &inner, &inner_len) == 0);
    CHECK(strcmp(dst, "bob x") == 0 && inner_len == strlen(msg) &&
          memcmp(inner, msg, inner_len) == 0);
    CHECK(msg_node_pj_unwrap(w, len, dst, 4, &inner, &inner_len) < 0);
    free(w);
    /* a member's node message is no PeerJS one, and the other way round */
    w = msg_node_wrap("room", "peer", "{}", 2, &len);
    REQUIRE(w != NULL);
    CHECK(msg_node_pj_unwrap(w, len, dst, sizeof dst, &inner, &inner_len) < 0);
    free(w);
    static const char open[] = "{\"pj-open\":\"late\",\"node\":\"n1.ab12\"}";
    CHECK(msg_node_pj_open(open, strlen(open), id, sizeof id, node,
                           sizeof node) == 0);
    CHECK(strcmp(id, "late") == 0 && strcmp(node, "n1.ab12") == 0);
    CHECK(msg_node_pj_open(open, strlen(open) - 1, id, sizeof id, node,
                           sizeof node) < 0);
    CHECK(msg_node_pj_open(open, strlen(open), id, sizeof id, node, 4) < 0);
}

TEST(msg_node_knock_answer_reads_admit_a_denials_reason_and_a_take_over)
{
    char why[16];
    int64_t at = -1;
    const char *deny = "{\"type\":\"x-deny\",\"reason\":\"empty\"}";

    CHECK(msg_node_knock_answer(deny, strlen(deny), why, sizeof why, &at) ==
          MSG_KNOCK_DENY);
    CHECK(hub_knock_denial(why) == HUB_KNOCK_EMPTY);
    CHECK(strcmp(hub_knock_reason(HUB_KNOCK_EMPTY), "empty") == 0);
    deny = "{\"type\":\"x-deny\",\"reason\":\"ended\"}";
    msg_node_knock_answer(deny, strlen(deny), why, sizeof why, &at);
    CHECK(hub_knock_denial(why) == HUB_KNOCK_ENDED);
    deny = "{\"type\":\"x-deny\",\"reason\":\"host\"}";
    msg_node_knock_answer(deny, strlen(deny), why, sizeof why, &at);
    CHECK(hub_knock_denial(why) == HUB_KNOCK_HOST);
    /* From a node that names no reason, or one unknown here: denied, with
     * no reason passed on. */
    deny = "{\"type\":\"x-deny\",\"message\":\"everyone left\"}";
    CHECK(msg_node_knock_answer(deny, strlen(deny), why, sizeof why, &at) ==
              MSG_KNOCK_DENY &&
          why[0] == '\0');
    CHECK(hub_knock_denial(why) == HUB_KNOCK_DENIED);
    CHECK(hub_knock_denial("later") == HUB_KNOCK_DENIED);
    CHECK(hub_knock_denial(NULL) == HUB_KNOCK_DENIED);
    CHECK(hub_knock_reason(HUB_KNOCK_DENIED) == NULL);
    CHECK(hub_knock_reason(HUB_KNOCK_TIMEOUT) == NULL);
    deny = "{\"type\":\"x-admit\"}";
    CHECK(msg_node_knock_answer(deny, strlen(deny), why, sizeof why, &at) ==
          MSG_KNOCK_ADMIT);
    deny = "{\"type\":\"x-knock-taken\",\"attempt\":7}";
    CHECK(msg_node_knock_answer(deny, strlen(deny), why, sizeof why, &at) ==
              MSG_KNOCK_TAKEN &&
          at == 7);
    deny = "{\"type\":\"x-knock-taken\",\"attempt\":-1}"; /* none */
    CHECK(msg_node_knock_answer(deny, strlen(deny), why, sizeof why, &at) ==
              MSG_KNOCK_TAKEN &&
          at == 0);
    deny = "{\"type\":\"chat\"}";
    CHECK(msg_node_knock_answer(deny, strlen(deny), why, sizeof why, &at) ==
          MSG_KNOCK_NONE);
}
