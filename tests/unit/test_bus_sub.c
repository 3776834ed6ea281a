/* The bus' subscription registry (sidecar/bus_sub.h): which rooms are
 * wanted, how SUBSCRIBE confirmations are counted, and which requests wait
 * for them. Pure bookkeeping: no Redis, no socket. */
#include <stdio.h>

#include "bus_sub.h"
#include "check.h"

/* Returns the number of requests in a detached list. */
static int count(const struct bus_wait *w)
{
    int n = 0;

    for (; w != NULL; w = w->next)
        n++;
    return n;
}

TEST(requests_wait_for_the_subscribe_and_go_in_order_once_confirmed)
{
    struct bus_subs t;
    struct bus_wait a, b, *go;
    struct bus_sub *s;

    CHECK(bus_subs_init(&t) == 0);
    s = bus_subs_get(&t, "room1");
    CHECK(s != NULL && bus_subs_find(&t, "room1") == s);
    CHECK(bus_subs_get(&t, "room1") == s);
    s->wanted = true;
    s->sent++;
    CHECK(bus_sub_pending(s));
    bus_sub_wait(s, &a);
    bus_sub_wait(s, &b);
    CHECK(bus_subs_ack(&t, "room1", true, false) == NULL); /* bus down */
    s->sent++;                                             /* reconnected */
    go = bus_subs_ack(&t, "room1", true, true);
    CHECK(go == &a && a.next == &b && b.next == NULL);
    CHECK(!bus_sub_pending(s) && s->waiting == NULL);
    bus_subs_clear(&t);
}

TEST(an_entry_lives_until_its_unsubscribe_is_confirmed)
{
    struct bus_subs t;
    struct bus_sub *s;

    CHECK(bus_subs_init(&t) == 0);
    s = bus_subs_get(&t, "room1");
    s->wanted = true;
    s->sent = s->acked = 1;
    s->wanted = false;
    s->unsubs++;
    bus_subs_release(&t, s);
    CHECK(bus_subs_find(&t, "room1") == s);
    CHECK(bus_subs_ack(&t, "room1", false, true) == NULL);
    CHECK(bus_subs_find(&t, "room1") == NULL);
    CHECK(t.rooms.n == 0);
    CHECK(bus_subs_ack(&t, "unknown", true, true) == NULL);
    bus_subs_clear(&t);
}

TEST(reset_returns_every_waiting_request_and_keeps_wanted_rooms)
{
    struct bus_subs t;
    struct bus_wait w[3];
    struct bus_sub *kept, *gone;

    CHECK(bus_subs_init(&t) == 0);
    kept = bus_subs_get(&t, "kept");
    gone = bus_subs_get(&t, "gone");
    kept->wanted = true;
    kept->sent = 2;
    gone->sent = 1;
    bus_sub_wait(kept, &w[0]);
    bus_sub_wait(kept, &w[1]);
    bus_sub_wait(gone, &w[2]);
    CHECK(count(bus_subs_reset(&t)) == 3);
    CHECK(bus_subs_find(&t, "kept") == kept && kept->sent == 0);
    CHECK(bus_subs_find(&t, "gone") == NULL);
    bus_subs_clear(&t);
}

static void count_one(struct bus_sub *s, void *arg)
{
    (void)s;
    (*(int *)arg)++;
}

TEST(registry_grows_and_finds_every_room)
{
    struct bus_subs t;
    char room[32];
    int wanted = 0;

    CHECK(bus_subs_init(&t) == 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(room, sizeof room, "room-%d", i);
        struct bus_sub *s = bus_subs_get(&t, room);
        CHECK(s != NULL);
        if (s != NULL)
            s->wanted = i % 2 == 0;
    }
    CHECK(t.rooms.n == 1000 && t.rooms.nbuckets >= 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(room, sizeof room, "room-%d", i);
        CHECK(bus_subs_find(&t, room) != NULL);
    }
    bus_subs_each_wanted(&t, count_one, &wanted);
    CHECK(wanted == 500);
    bus_subs_clear(&t);
}
