/* Joins waiting for Redis: which held messages reach the joiner after its
 * welcome, in what order, and the cap (sidecar/pending.h). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pending.h"

#define MAXOUT 16

struct got {
    const char *text[MAXOUT];
    int n;
};

static void deliver(void *ctx, struct out_msg *m)
{
    struct got *g = ctx;
    if (g->n < MAXOUT)
        g->text[g->n++] = out_msg_text(m);
}

/* Holds text (a message about peer about, from node n2) for p. */
static int hold(struct pend *p, enum msg_node_kind k, const char *about,
                const char *text)
{
    struct out_msg *m = out_msg_new(text, strlen(text));
    int rc = pend_hold(p, m, k, about, "n2");
    out_msg_unref(m);
    return rc;
}

/* An answer naming members a, b (on n2) and me (n1), and chat. */
static const struct bus_member members[] = {
    {"a", "n2", "{}", 2}, {"b", "n2", "{}", 2}, {"me", "n1", "{}", 2}};
static const struct bus_text chat[] = {{"{\"type\":\"chat\",\"x\":1}", 21}};
static const struct bus_room answer = {.status = BUS_OK,
                                       .members = members,
                                       .n_members = 3,
                                       .chat = chat,
                                       .n_chat = 1};

TEST(pending_replays_only_what_the_welcome_does_not_say_in_order)
{
    struct route *rt = route_new();
    struct route_room *r = route_room(rt, "room", true);
    struct pend p;
    struct got g = {0};

    REQUIRE(rt != NULL && r != NULL);
    pend_init(&p, 100, 1 << 20);
    pend_attach(&p, r);
    hold(&p, MSG_NODE_JOINED, "a", "joined a");   /* in the answer */
    hold(&p, MSG_NODE_JOINED, "c", "joined c");   /* new */
    hold(&p, MSG_NODE_STATE, "c", "state c");     /* known now */
    hold(&p, MSG_NODE_STATE, "z", "state z");     /* never known */
    hold(&p, MSG_NODE_JOINED, "me", "joined me"); /* itself */
    hold(&p, MSG_NODE_STATE, "me", "state me");
    hold(&p, MSG_NODE_LEFT, "b", "left b");             /* known: goes */
    hold(&p, MSG_NODE_STATE, "b", "state b");           /* gone: not */
    hold(&p, MSG_NODE_LEFT, "b", "left b again");       /* unknown now */
    hold(&p, MSG_NODE_CHAT, "", chat[0].s);             /* in history */
    hold(&p, MSG_NODE_CHAT, "", "{\"type\":\"chat\"}"); /* new chat */
    hold(&p, MSG_NODE_OTHER, "", "other");
    pend_replay(&p, &answer, "me", deliver, &g);
    REQUIRE(g.n == 5);
    CHECK_STR(g.text[0], "joined c");
    CHECK_STR(g.text[1], "state c");
    CHECK_STR(g.text[2], "left b");
    CHECK_STR(g.text[3], "{\"type\":\"chat\"}");
    CHECK_STR(g.text[4], "other");
    /* the routing table learnt c (from its origin) and forgot b */
    CHECK(route_find(r, "c") != NULL &&
          strcmp(route_find(r, "c")->node, "n2") == 0);
    CHECK(route_find(r, "b") == NULL);
    pend_clear(&p);
    CHECK(r->joins == NULL);
    route_free(rt);
}

TEST(pending_a_peer_that_leaves_and_comes_back_is_announced_again)
{
    struct route *rt = route_new();
    struct route_room *r = route_room(rt, "room", true);
    struct pend p;
    struct got g = {0};

    REQUIRE(rt != NULL && r != NULL);
    pend_init(&p, 100, 1 << 20);
    pend_attach(&p, r);
    hold(&p, MSG_NODE_LEFT, "a", "left a");
    hold(&p, MSG_NODE_JOINED, "a", "joined a");
    hold(&p, MSG_NODE_JOINED, "a", "joined a twice");
    pend_replay(&p, &answer, "me", deliver, &g);
    REQUIRE(g.n == 2);
    CHECK_STR(g.text[0], "left a");
    CHECK_STR(g.text[1], "joined a");
    CHECK(route_find(r, "a") != NULL);
    pend_clear(&p);
    route_free(rt);
}

TEST(pending_holds_for_every_join_of_the_room_only)
{
    struct route *rt = route_new();
    struct route_room *r = route_room(rt, "room", true);
    struct route_room *s = route_room(rt, "other", true);
    struct pend p, q, o;
    struct out_msg *m = out_msg_new("x", 1);

    REQUIRE(rt != NULL && r != NULL && s != NULL && m != NULL);
    pend_init(&p, 10, 1000);
    pend_init(&q, 10, 1000);
    pend_init(&o, 10, 1000);
    pend_attach(&p, r);
    pend_attach(&q, r);
    pend_attach(&o, s);
    pend_hold_room(r, m, MSG_NODE_OTHER, NULL, "n2");
    CHECK(p.nheld == 1 && q.nheld == 1 && o.nheld == 0);
    CHECK(m->refs == 3); /* held, not copied */
    pend_clear(&q);
    CHECK(r->joins == &p && m->refs == 2);
    pend_hold_room(r, m, MSG_NODE_OTHER, NULL, "n2");
    CHECK(p.nheld == 2 && q.nheld == 0);
    pend_clear(&p);
    pend_clear(&p); /* twice is safe */
    pend_clear(&o);
    CHECK(m->refs == 1);
    out_msg_unref(m);
    route_free(rt);
}

TEST(pending_over_the_message_cap_overflows_and_replays_nothing)
{
    struct route *rt = route_new();
    struct route_room *r = route_room(rt, "room", true);
    struct pend p;
    struct got g = {0};

    REQUIRE(rt != NULL && r != NULL);
    pend_init(&p, 3, 1 << 20);
    pend_attach(&p, r);
    CHECK(hold(&p, MSG_NODE_OTHER, "", "1") == 0);
    CHECK(hold(&p, MSG_NODE_OTHER, "", "2") == 0);
    CHECK(hold(&p, MSG_NODE_OTHER, "", "3") == 0);
    CHECK(!p.overflow);
    CHECK(hold(&p, MSG_NODE_OTHER, "", "4") == -1);
    CHECK(p.overflow && p.nheld == 0 && p.held_bytes == 0);
    CHECK(hold(&p, MSG_NODE_OTHER, "", "5") == -1); /* stays over */
    CHECK(p.nheld == 0);
    pend_replay(&p, &answer, "me", deliver, &g);
    CHECK(g.n == 0);
    pend_clear(&p);
    route_free(rt);
}

TEST(pending_over_the_byte_cap_overflows)
{
    struct pend p;

    pend_init(&p, 100, 10);
    CHECK(hold(&p, MSG_NODE_OTHER, "", "12345") == 0);
    CHECK(hold(&p, MSG_NODE_OTHER, "", "67890") == 0); /* exactly 10 */
    CHECK(p.held_bytes == 10 && !p.overflow);
    CHECK(hold(&p, MSG_NODE_OTHER, "", "x") == -1);
    CHECK(p.overflow && p.held_bytes == 0);
    pend_clear(&p);
}

TEST(pending_a_detached_join_replays_nothing)
{
    struct pend p;
    struct got g = {0};

    pend_init(&p, 100, 1000);
    CHECK(hold(&p, MSG_NODE_OTHER, "", "x") == 0);
    pend_replay(&p, &answer, "me", deliver, &g);
    CHECK(g.n == 0);
    pend_clear(&p);
}
