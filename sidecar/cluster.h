/* cluster: several huddle-sidecar processes sharing rooms through Redis
 * (docs/cluster.md). It implements the hub's cluster
 * hooks (struct hub_cluster) on top of the bus (bus.h): joins and resumes
 * are decided by the bus' Lua scripts, what a member here says goes to the
 * room's channel, a signal or private chat to a member elsewhere goes to
 * that member's node, and what other nodes publish is delivered to the
 * members here. The hub keeps the local seats; this module keeps, per room,
 * the members on other nodes (id -> node) for routing. PeerJS ids and
 * relays go through it too (cluster_peerjs). */
#ifndef HUDDLE_CLUSTER_H
#define HUDDLE_CLUSTER_H

#include <uv.h>

#include "bus.h"
#include "hub.h"
#include "peerjs.h"

struct cluster;

/* Creates the bus on loop and routes h through it. ready(arg), when not
 * NULL, is called once, when Redis is up the first time. Returns NULL
 * after logging why. */
struct cluster *cluster_new(uv_loop_t *loop, struct hub *h,
                            const struct bus_config *bc,
                            void (*ready)(void *arg), void *arg);

/* Serves pj's ids and relays across the cluster (peerjs.h, struct
 * pj_net): plugged in when the websocket server starts; NULL unplugs it
 * (before pj is freed). NULL cl: no-op. */
void cluster_peerjs(struct cluster *cl, struct pj *pj);

/* Hands every seat this node holds over to Redis before the process exits
 * (bus_drain): each stays resumable on any node for what is left of its
 * grace period (a seat still connected: the whole period), then the
 * cluster announces it gone once. done(arg) is called from a bus callback
 * when Redis has answered: call cluster_free later, not from done. Returns
 * 0, or -1 (done not called) when Redis is down. */
int cluster_drain(struct cluster *cl, void (*done)(void *arg), void *arg);

/* Detaches from the hub, frees the bus (no leave in Redis: call after the
 * members left) and everything still waiting for Redis. NULL: no-op. */
void cluster_free(struct cluster *cl);

#endif
