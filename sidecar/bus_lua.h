/* The Lua scripts of the bus (sidecar/bus.h), loaded with SCRIPT LOAD on
 * every connect and run with EVALSHA. Each runs atomically in Redis, which
 * is what makes the room cap, resume and reaping hold across nodes. Keys
 * are built inside the scripts from the room and node ids (numkeys 0):
 * fine on one Redis instance, not meant for Redis Cluster. The layout is in
 * docs/cluster.md. Only bus_conn.c includes this file.
 *
 * Chat history: each room's list holds "<seq> <json>", newest first; seq
 * counts appends across all rooms. Three global keys account for it, so
 * that HUDDLE_HISTORY_MAX_BYTES bounds all rooms together, in O(log n) per
 * append: huddle:history (a sorted set: room -> seq of its oldest kept
 * message: the oldest message of all is its first member's list tail),
 * huddle:history:bytes (a hash: room -> bytes of its kept messages, and
 * "*total" and "*seq"; '*' is never in a room id) and
 * huddle:history:expiry (a sorted set: empty room -> when its history
 * expires, Redis' clock). A room's expired list is dropped from the
 * accounting by the next append or reaper run (hexpired); the global keys
 * live while any room has history, and expire with the last one (hkeep). */
#ifndef HUDDLE_BUS_LUA_H
#define HUDDLE_BUS_LUA_H

#include "bus_wire.h" /* the channel prefixes and the nodes' keys */
#include "msg.h"      /* the reasons of a denial */
#include "msg_node.h" /* what a knocker's node hears */

/* Shared helpers, prepended to every script. announce publishes to the
 * room's channel, which every node with members there (or a join on its
 * way) subscribes; to_nodes sends to the channel of each node holding a
 * member of the room except origin, "huddle:ch:room:<room> <envelope>"
 * (bus_relay_parse), so the sender's node does not read its own message
 * back. */
#define BUS_LUA_PRELUDE                                                        \
    "local ROOM_CH, NODE_CH = '" BUS_ROOM_CH "', '" BUS_NODE_CH "'\n"          \
    "local NODES, NODE = '" BUS_NODES_KEY "', '" BUS_NODE_KEY "'\n"            \
    "local function rk(room, what)\n"                                          \
    "  return 'huddle:room:' .. room .. ':' .. what\n"                         \
    "end\n"                                                                    \
    "local GRACE = 'huddle:grace'\n"                                           \
    "local function gk(room, peer, node)\n"                                    \
    "  return room .. ' ' .. peer .. ' ' .. node\n"                            \
    "end\n"                                                                    \
    "local function now_ms()\n"                                                \
    "  local t = redis.call('TIME')\n"                                         \
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"     \
    "end\n"                                                                    \
    "local HZ, HB = 'huddle:history', 'huddle:history:bytes'\n"                \
    "local HE = 'huddle:history:expiry'\n"                                     \
    "local function hsplit(e)\n"                                               \
    "  local sp = string.find(e, ' ', 1, true)\n"                              \
    "  if string.byte(e, 1) == 123 or not sp then return 0, #e, e end\n"       \
    "  return tonumber(string.sub(e, 1, sp - 1)), #e - sp, string.sub(e, sp "  \
    "+ 1)\n"                                                                   \
    "end\n"                                                                    \
    "local function hkeep()\n"                                                 \
    "  local nz = redis.call('ZCARD', HZ)\n"                                   \
    "  if nz == 0 then\n"                                                      \
    "    redis.call('DEL', HZ, HB, HE)\n"                                      \
    "  elseif redis.call('ZCARD', HE) < nz then\n"                             \
    "    redis.call('PERSIST', HZ)\n"                                          \
    "    redis.call('PERSIST', HB)\n"                                          \
    "    redis.call('PERSIST', HE)\n"                                          \
    "  else\n"                                                                 \
    "    local last = redis.call('ZRANGE', HE, -1, -1, 'WITHSCORES')\n"        \
    "    local ms = math.max(1, tonumber(last[2]) - now_ms() + 1)\n"           \
    "    redis.call('PEXPIRE', HZ, ms)\n"                                      \
    "    redis.call('PEXPIRE', HB, ms)\n"                                      \
    "    redis.call('PEXPIRE', HE, ms)\n"                                      \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "local function hforget(room)\n"                                           \
    "  local b = tonumber(redis.call('HGET', HB, room) or '0')\n"              \
    "  redis.call('HDEL', HB, room)\n"                                         \
    "  redis.call('ZREM', HZ, room)\n"                                         \
    "  redis.call('ZREM', HE, room)\n"                                         \
    "  if b ~= 0 then redis.call('HINCRBY', HB, '*total', -b) end\n"           \
    "end\n"                                                                    \
    "local function hexpired(now)\n"                                           \
    "  local gone = redis.call('ZRANGEBYSCORE', HE, '-inf', now)\n"            \
    "  for _, room in ipairs(gone) do\n"                                       \
    "    redis.call('DEL', rk(room, 'chat'))\n"                                \
    "    hforget(room)\n"                                                      \
    "  end\n"                                                                  \
    "  return #gone\n"                                                         \
    "end\n"                                                                    \
    "local function hpop(room)\n"                                              \
    "  local key = rk(room, 'chat')\n"                                         \
    "  local e = redis.call('RPOP', key)\n"                                    \
    "  if e then\n"                                                            \
    "    local _, n = hsplit(e)\n"                                             \
    "    redis.call('HINCRBY', HB, room, -n)\n"                                \
    "    redis.call('HINCRBY', HB, '*total', -n)\n"                            \
    "  end\n"                                                                  \
    "  local oldest = redis.call('LINDEX', key, -1)\n"                         \
    "  if oldest then\n"                                                       \
    "    redis.call('ZADD', HZ, 'XX', (hsplit(oldest)), room)\n"               \
    "  else\n"                                                                 \
    "    hforget(room)\n"                                                      \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "local function chat_expire(room, ttl)\n"                                  \
    "  redis.call('PEXPIRE', rk(room, 'chat'), ttl)\n"                         \
    "  if redis.call('ZSCORE', HZ, room) then\n"                               \
    "    redis.call('ZADD', HE, now_ms() + tonumber(ttl), room)\n"             \
    "  end\n"                                                                  \
    "  hkeep()\n"                                                              \
    "end\n"                                                                    \
    "local function chat_persist(room)\n"                                      \
    "  redis.call('PERSIST', rk(room, 'chat'))\n"                              \
    "  if redis.call('ZREM', HE, room) == 1 then hkeep() end\n"                \
    "end\n"                                                                    \
    "local function state(room, chatmax)\n"                                    \
    "  local flat, seen = {}, {}\n"                                            \
    "  local members, nodes = rk(room, 'members'), rk(room, 'nodes')\n"        \
    "  local function add(peer, json)\n"                                       \
    "    seen[peer] = true\n"                                                  \
    "    flat[#flat + 1] = peer\n"                                             \
    "    flat[#flat + 1] = redis.call('HGET', nodes, peer) or ''\n"            \
    "    flat[#flat + 1] = json\n"                                             \
    "  end\n"                                                                  \
    "  for _, peer in ipairs(redis.call('ZRANGE', rk(room, 'order'), 0, -1)) " \
    "do\n"                                                                     \
    "    local json = redis.call('HGET', members, peer)\n"                     \
    "    if json then add(peer, json) end\n"                                   \
    "  end\n"                                                                  \
    "  local h = redis.call('HGETALL', members)\n"                             \
    "  for i = 1, #h, 2 do\n"                                                  \
    "    if not seen[h[i]] then add(h[i], h[i + 1]) end\n"                     \
    "  end\n"                                                                  \
    "  local chat = redis.call('LRANGE', rk(room, 'chat'), 0, "                \
    "tonumber(chatmax) - 1)\n"                                                 \
    "  for i, e in ipairs(chat) do\n"                                          \
    "    local _, _, json = hsplit(e)\n"                                       \
    "    chat[i] = json\n"                                                     \
    "  end\n"                                                                  \
    "  return flat, chat\n"                                                    \
    "end\n"                                                                    \
    "local function forget_tokens(room, peer, gone)\n"                         \
    "  local k = rk(room, 'tokens')\n"                                         \
    "  for _, f in ipairs({'p:', 'q:'}) do\n"                                  \
    "    local tok = redis.call('HGET', k, f .. peer)\n"                       \
    "    if tok then redis.call('HDEL', k, 't:' .. tok, f .. peer) end\n"      \
    "  end\n"                                                                  \
    "  if gone then redis.call('HDEL', k, 'a:' .. peer, 'm:' .. peer) end\n"   \
    "end\n"                                                                    \
    "local function announce(room, env)\n"                                     \
    "  if env ~= '' then\n"                                                    \
    "    redis.call('PUBLISH', ROOM_CH .. room, env)\n"                        \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "local function to_nodes(room, env, origin)\n"                             \
    "  if env == '' then return end\n"                                         \
    "  local sent, msg = {[origin] = true}, nil\n"                             \
    "  for _, node in ipairs(redis.call('HVALS', rk(room, 'nodes'))) do\n"     \
    "    if not sent[node] then\n"                                             \
    "      sent[node] = true\n"                                                \
    "      msg = msg or ROOM_CH .. room .. ' ' .. env\n"                       \
    "      redis.call('PUBLISH', NODE_CH .. node, msg)\n"                      \
    "    end\n"                                                                \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "local function tell(room, msg)\n"                                         \
    "  announce(room, '{\"origin\":\"\",\"msg\":' .. msg .. '}')\n"            \
    "end\n"                                                                    \
    "local function is_host(json)\n"                                           \
    "  return json ~= nil and json ~= false and\n"                             \
    "         string.find(json, '\"role\":\"host\"', 1, true) ~= nil\n"        \
    "end\n"                                                                    \
    "local function with_role(json, host)\n"                                   \
    "  if host then\n"                                                         \
    "    return (string.gsub(json, '\"role\":\"guest\"', "                     \
    "'\"role\":\"host\"', 1))\n"                                               \
    "  end\n"                                                                  \
    "  return (string.gsub(json, '\"role\":\"host\"', '\"role\":\"guest\"', "  \
    "1))\n"                                                                    \
    "end\n"                                                                    \
    "local function access_msg(room)\n"                                        \
    "  local a = rk(room, 'access')\n"                                         \
    "  return '{\"type\":\"access\",\"locked\":' ..\n"                         \
    "         tostring(redis.call('HGET', a, 'locked') == '1') ..\n"           \
    "         ',\"password\":' .. tostring(redis.call('HEXISTS', a, 'hash') "  \
    "== 1) ..\n"                                                               \
    "         (redis.call('HEXISTS', a, 'restored') == 1 and\n"                \
    "          ',\"restored\":true' or '') .. '}'\n"                           \
    "end\n"                                                                    \
    "local function lobby_split(v)\n"                                          \
    "  local a = string.find(v, ' ', 1, true)\n"                               \
    "  local b = string.find(v, ' ', a + 1, true)\n"                           \
    "  return tonumber(string.sub(v, 1, a - 1)), string.sub(v, a + 1, b - "    \
    "1),\n"                                                                    \
    "         string.sub(v, b + 1)\n"                                          \
    "end\n"                                                                    \
    "local function lobby_msg(room)\n"                                         \
    "  local h, list, out = redis.call('HGETALL', rk(room, 'lobby')), {}, "    \
    "{}\n"                                                                     \
    "  for i = 2, #h, 2 do\n"                                                  \
    "    local seq, _, json = lobby_split(h[i])\n"                             \
    "    list[#list + 1] = {seq, json}\n"                                      \
    "  end\n"                                                                  \
    "  table.sort(list, function(x, y) return x[1] < y[1] end)\n"              \
    "  for i, e in ipairs(list) do out[i] = e[2] end\n"                        \
    "  return '{\"type\":\"lobby\",\"waiting\":[' .. table.concat(out, ',') "  \
    ".. ']}'\n"                                                                \
    "end\n"                                                                    \
    "local function knocks(node)\n"                                            \
    "  return NODE .. node .. ':knocks'\n"                                     \
    "end\n"                                                                    \
    "local function to_knock(node, room, knock, msg)\n"                        \
    "  redis.call('PUBLISH', NODE_CH .. node,\n"                               \
    "             '{\"origin\":\"\",\"msg\":{\"room\":\"' .. room .. "         \
    "'\",\"to\":\"' .. knock ..\n"                                             \
    "             '\",\"msg\":' .. msg .. '}}')\n"                             \
    "end\n"                                                                    \
    "local function lobby_answer(room, knock, what)\n"                         \
    "  local v = redis.call('HGET', rk(room, 'lobby'), knock)\n"               \
    "  if not v then return false end\n"                                       \
    "  redis.call('HDEL', rk(room, 'lobby'), knock)\n"                         \
    "  local _, node = lobby_split(v)\n"                                       \
    "  redis.call('HSET', rk(room, 'answers'), knock, node .. ' ' .. what)\n"  \
    "  local msg = what == 'admit' and '{\"type\":\"x-admit\"}' or\n"          \
    "              '{\"type\":\"x-deny\",\"reason\":\"' .. what .. '\"}'\n"    \
    "  to_knock(node, room, knock, msg)\n"                                     \
    "  return true\n"                                                          \
    "end\n"                                                                    \
    "local function answer_split(v)\n"                                         \
    "  local sp = string.find(v, ' ', 1, true)\n"                              \
    "  if not sp then return v, '' end\n"                                      \
    "  return string.sub(v, 1, sp - 1), string.sub(v, sp + 1)\n"               \
    "end\n"                                                                    \
    "local function take_answer(room, knock)\n"                                \
    "  local v = redis.call('HGET', rk(room, 'answers'), knock)\n"             \
    "  if not v then return nil end\n"                                         \
    "  local node, what = answer_split(v)\n"                                   \
    "  redis.call('HDEL', rk(room, 'answers'), knock)\n"                       \
    "  redis.call('SREM', knocks(node), room .. ' ' .. knock)\n"               \
    "  redis.call('ZREM', GRACE, gk(room, knock, node))\n"                     \
    "  return what\n"                                                          \
    "end\n"                                                                    \
    "local function forget_answer(room, knock, node)\n"                        \
    "  local v = redis.call('HGET', rk(room, 'answers'), knock)\n"             \
    "  if v and answer_split(v) == node then\n"                                \
    "    redis.call('HDEL', rk(room, 'answers'), knock)\n"                     \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "local function knock_tokens(room, knock)\n"                               \
    "  for _, h in ipairs({'lobby', 'answers', 'members'}) do\n"               \
    "    if redis.call('HEXISTS', rk(room, h), knock) == 1 then return end\n"  \
    "  end\n"                                                                  \
    "  forget_tokens(room, knock, true)\n"                                     \
    "end\n"                                                                    \
    "local function withdraw(room, knock, by)\n"                               \
    "  local kept = redis.call('HGET', rk(room, 'answers'), knock)\n"          \
    "  if kept and (by == '' or answer_split(kept) == by) then\n"              \
    "    take_answer(room, knock)\n"                                           \
    "  end\n"                                                                  \
    "  local v = redis.call('HGET', rk(room, 'lobby'), knock)\n"               \
    "  local node = v and select(2, lobby_split(v))\n"                         \
    "  if node and (by == '' or node == by) then\n"                            \
    "    redis.call('HDEL', rk(room, 'lobby'), knock)\n"                       \
    "    redis.call('SREM', knocks(node), room .. ' ' .. knock)\n"             \
    "  end\n"                                                                  \
    "  knock_tokens(room, knock)\n"                                            \
    "  return node and (by == '' or node == by)\n"                             \
    "end\n"                                                                    \
    "local function lobby_empty(room, let_in, why)\n"                          \
    "  local keys = redis.call('HKEYS', rk(room, 'lobby'))\n"                  \
    "  for _, k in ipairs(keys) do\n"                                          \
    "    lobby_answer(room, k, let_in and 'admit' or why)\n"                   \
    "  end\n"                                                                  \
    "  return #keys\n"                                                         \
    "end\n"                                                                    \
    "local function deny_admitted(room, why)\n"                                \
    "  local ans = rk(room, 'answers')\n"                                      \
    "  local kept = redis.call('HGETALL', ans)\n"                              \
    "  for i = 1, #kept, 2 do\n"                                               \
    "    local node, what = answer_split(kept[i + 1])\n"                       \
    "    if what == 'admit' then\n"                                            \
    "      redis.call('HSET', ans, kept[i], node .. ' ' .. why)\n"             \
    "    end\n"                                                                \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "local function forget_knocks(node, until_ms)\n"                           \
    "  for _, e in ipairs(redis.call('SMEMBERS', knocks(node))) do\n"          \
    "    local sp = string.find(e, ' ', 1, true)\n"                            \
    "    if sp then\n"                                                         \
    "      local room, knock = string.sub(e, 1, sp - 1), string.sub(e, sp + "  \
    "1)\n"                                                                     \
    "      local v = redis.call('HGET', rk(room, 'lobby'), knock)\n"           \
    "      if v and select(2, lobby_split(v)) == node then\n"                  \
    "        redis.call('HDEL', rk(room, 'lobby'), knock)\n"                   \
    "        tell(room, lobby_msg(room))\n"                                    \
    "      end\n"                                                              \
    "      if not until_ms then\n"                                             \
    "        forget_answer(room, knock, node)\n"                               \
    "      elseif redis.call('HEXISTS', rk(room, 'answers'), knock) == 1 "     \
    "then\n"                                                                   \
    "        redis.call('ZADD', GRACE, until_ms, gk(room, knock, node))\n"     \
    "      end\n"                                                              \
    "      knock_tokens(room, knock)\n"                                        \
    "    end\n"                                                                \
    "  end\n"                                                                  \
    "  redis.call('DEL', knocks(node))\n"                                      \
    "end\n"                                                                    \
    "local function set_role(room, peer, json, host)\n"                        \
    "  local new = with_role(json, host)\n"                                    \
    "  if new == json then return end\n"                                       \
    "  redis.call('HSET', rk(room, 'members'), peer, new)\n"                   \
    "  tell(room, '{\"type\":\"peer-state\",\"peer\":' .. new .. '}')\n"       \
    "  if host and redis.call('HLEN', rk(room, 'lobby')) > 0 then\n"           \
    "    tell(room, lobby_msg(room))\n"                                        \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "local function count_hosts(room)\n"                                       \
    "  local n = 0\n"                                                          \
    "  for _, j in ipairs(redis.call('HVALS', rk(room, 'members'))) do\n"      \
    "    if is_host(j) then n = n + 1 end\n"                                   \
    "  end\n"                                                                  \
    "  return n\n"                                                             \
    "end\n"                                                                    \
    "local function handover(room)\n"                                          \
    "  if redis.call('HEXISTS', rk(room, 'access'), 'tokens') == 1 or\n"       \
    "     count_hosts(room) > 0 then\n"                                        \
    "    return\n"                                                             \
    "  end\n"                                                                  \
    "  local heir = redis.call('ZRANGE', rk(room, 'order'), 0, 0)[1]\n"        \
    "  local json = heir and redis.call('HGET', rk(room, 'members'), heir)\n"  \
    "  if json then set_role(room, heir, json, true) end\n"                    \
    "end\n"                                                                    \
    "local function forget_access(room)\n"                                     \
    "  redis.call('DEL', rk(room, 'lobby'), rk(room, 'access'), rk(room, "     \
    "'order'),\n"                                                              \
    "             rk(room, 'addrs'),\n"                                        \
    "             rk(room, 'admitted')) -- the answers of versions before\n"   \
    "end\n"                                                                    \
    "local function remove(room, peer, node, ttl)\n"                           \
    "  local json = redis.call('HGET', rk(room, 'members'), peer)\n"           \
    "  redis.call('ZREM', GRACE, gk(room, peer, node))\n"                      \
    "  redis.call('HDEL', rk(room, 'members'), peer)\n"                        \
    "  redis.call('HDEL', rk(room, 'nodes'), peer)\n"                          \
    "  redis.call('ZREM', rk(room, 'order'), peer)\n"                          \
    "  redis.call('HDEL', rk(room, 'addrs'), peer)\n"                          \
    "  forget_tokens(room, peer, true)\n"                                      \
    "  redis.call('SREM', NODE .. node .. ':peers', room .. ' ' .. peer)\n"    \
    "  if redis.call('HLEN', rk(room, 'members')) == 0 then\n"                 \
    "    chat_expire(room, ttl)\n"                                             \
    "    lobby_empty(room, false, '" MSG_DENIED_EMPTY "')\n"                   \
    "    deny_admitted(room, '" MSG_DENIED_EMPTY "')\n"                        \
    "    forget_access(room)\n"                                                \
    "  elseif is_host(json) then\n"                                            \
    "    handover(room)\n"                                                     \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "local function access_reply(room, json)\n"                                \
    "  local a = rk(room, 'access')\n"                                         \
    "  local lobby = ''\n"                                                     \
    "  if is_host(json) and redis.call('HLEN', rk(room, 'lobby')) > 0 then\n"  \
    "    lobby = lobby_msg(room)\n"                                            \
    "  end\n"                                                                  \
    "  return {is_host(json) and 'host' or 'guest',\n"                         \
    "          redis.call('HGET', a, 'locked') == '1' and '1' or '0',\n"       \
    "          redis.call('HEXISTS', a, 'hash') == 1 and '1' or '0', lobby}\n" \
    "end\n"                                                                    \
    "local function timeout(room, peer, node, ttl)\n"                          \
    "  announce(room, "                                                        \
    "'{\"origin\":\"\",\"msg\":{\"type\":\"peer-left\",\"id\":\"' .. peer .. " \
    "'\",\"reason\":\"timeout\"}}')\n"                                         \
    "  remove(room, peer, node, ttl)\n"                                        \
    "end\n"                                                                    \
    "local function pj_owner(id)\n"                                            \
    "  local v = redis.call('GET', 'huddle:pj:' .. id)\n"                      \
    "  local sp = v and string.find(v, ' ', 1, true)\n"                        \
    "  if not sp then return nil, nil end\n"                                   \
    "  return string.sub(v, 1, sp - 1), string.sub(v, sp + 1)\n"               \
    "end\n"                                                                    \
    "local function reap_node(node, ttl, grace)\n"                             \
    "  local n, kept, set = 0, 0, NODE .. node .. ':peers'\n"                  \
    "  local g = tonumber(grace)\n"                                            \
    "  local until_ms = now_ms() + g\n"                                        \
    "  for _, e in ipairs(redis.call('SMEMBERS', set)) do\n"                   \
    "    local sp = string.find(e, ' ', 1, true)\n"                            \
    "    if sp then\n"                                                         \
    "      local room, peer = string.sub(e, 1, sp - 1), string.sub(e, sp + "   \
    "1)\n"                                                                     \
    "      if redis.call('HGET', rk(room, 'nodes'), peer) ~= node then\n"      \
    "        -- resumed elsewhere meanwhile\n"                                 \
    "      elseif g > 0 then\n"                                                \
    "        redis.call('ZADD', GRACE, until_ms, gk(room, peer, node))\n"      \
    "        kept = kept + 1\n"                                                \
    "      else\n"                                                             \
    "        timeout(room, peer, node, ttl)\n"                                 \
    "        n = n + 1\n"                                                      \
    "      end\n"                                                              \
    "    end\n"                                                                \
    "  end\n"                                                                  \
    "  redis.call('DEL', set)\n"                                               \
    "  local pj = NODE .. node .. ':pj'\n"                                     \
    "  for _, id in ipairs(redis.call('SMEMBERS', pj)) do\n"                   \
    "    if pj_owner(id) == node then redis.call('DEL', 'huddle:pj:' .. id) "  \
    "end\n"                                                                    \
    "  end\n"                                                                  \
    "  redis.call('DEL', pj)\n"                                                \
    "  forget_knocks(node, g > 0 and until_ms or nil)\n"                       \
    "  redis.call('SREM', NODES, node)\n"                                      \
    "  return n, kept\n"                                                       \
    "end\n"

/* ARGV: room peer json node cap force token envelope chatmax role tokens
 * addr pwhash knocked knock lobbymax pwtries pwwindow ticket moves
 * takeover attempt
 * -> {'full'} | {'moved'} | {'banned'} | {'password', salt} |
 *    {'wrong-password'} | {'pw-limited'} | {'knock'} | {'lobby-full'} |
 *    {'denied', reason} | {'stale', peer} |
 *    {'ok'|'exists', flat members, chat, access}.
 * A new seat (force '0') first looks for the host's answer kept for its
 * knock (knocked: its peer id, '' when it never knocked; the answers
 * hash): an admission is taken (once), a denial is answered 'denied' with
 * its reason (msg.h MSG_DENIED_*) and stays until the knock withdraws, so
 * that a lost reply finds it again. Then it passes the rules of docs/access.md,
 * in the order one sidecar applies them: a return ticket (ticket: a resume
 * token that took no seat back; bus_leave made it) lets the seat in, a host's
 * again where role is '-1', and is used up once the cap let it in; else
 * the ban of addr; then, unless the room
 * is empty, role is '1' (a host's join token) or the answer taken was
 * an admission, the password (pwhash, hex; '': the
 * answer is the salt to hash it with, and a wrong one counts in pwfail,
 * a fixed window of pwwindow ms, at most pwtries) and the lock (the
 * seat waits in the lobby as knock, a knock object JSON, and the hosts
 * hear the lobby). role '-1' makes the first member of an empty room its
 * host: json and envelope get "role":"host". A seat the node already holds
 * (re-asserted after a reconnect: 'exists') keeps the role Redis has: a
 * host may have changed it while the node was cut off; its moves (> 0)
 * are kept as m: when Redis lost them. access is {role, locked, password,
 * lobby message for a host or ''}. A knock the page's new connection takes
 * over (takeover '1', after the resume script answered 'knock'; attempt:
 * that resume's number, kept in a:) is 'stale' when a later one took it
 * meanwhile; else, once no answer was found for it, it skips the other rules
 * while its row is there, and the row and the knocks entry move to node,
 * whose old node hears x-knock-taken with attempt. A knock sent again
 * (knocked) whose row another node holds now is 'stale'. Every knock's
 * token (token) goes into tokens, so that a resume finds it. */
static const char bus_lua_join[] = BUS_LUA_PRELUDE
    "local room, peer, node = ARGV[1], ARGV[2], ARGV[4]\n"
    "local json, env = ARGV[3], ARGV[8]\n"
    "local members = rk(room, 'members')\n"
    "local back = ARGV[19] ~= '' and rk(room, 'back:' .. ARGV[19])\n"
    "local back_host\n"
    "if back then\n"
    "  local v = redis.call('GET', back)\n"
    "  local host, gen\n"
    "  if v then host, gen = string.match(v, '^(%d) (%d+)$') end\n"
    "  if gen and gen == (redis.call('HGET', rk(room, 'access'), 'gen') or\n"
    "                     '0') then\n"
    "    back_host = host\n"
    "  end\n"
    "end\n"
    "local function give_token()\n"
    "  if ARGV[7] == '' then return end\n"
    "  forget_tokens(room, peer)\n"
    "  redis.call('HSET', rk(room, 'tokens'), 't:' .. ARGV[7], peer,\n"
    "             'p:' .. peer, ARGV[7])\n"
    "end\n"
    "local function knock_here(a)\n"
    "  local lobby = rk(room, 'lobby')\n"
    "  local row = redis.call('HGET', lobby, peer)\n"
    "  local seq, was, knock\n"
    "  if row then seq, was, knock = lobby_split(row) end\n"
    "  if not row then\n"
    "    if redis.call('HLEN', lobby) >= tonumber(ARGV[16]) then\n"
    "      return {'lobby-full'}\n"
    "    end\n"
    "    redis.call('HSET', lobby, peer, redis.call('HINCRBY', a, 'seq', 1) "
    "..\n"
    "               ' ' .. node .. ' ' .. ARGV[15])\n"
    "    redis.call('SADD', knocks(node), room .. ' ' .. peer)\n"
    "    tell(room, lobby_msg(room))\n"
    "  elseif was ~= node and ARGV[21] ~= '1' then\n"
    "    return {'stale', peer}\n"
    "  elseif was ~= node then\n"
    "    redis.call('HSET', lobby, peer, seq .. ' ' .. node .. ' ' .. knock)\n"
    "    redis.call('SREM', knocks(was), room .. ' ' .. peer)\n"
    "    redis.call('SADD', knocks(node), room .. ' ' .. peer)\n"
    "    to_knock(was, room, peer, '{\"type\":\"" MSG_KNOCK_TAKEN_TYPE
    "\",\"attempt\":' .. ARGV[22] .. '}')\n"
    "  end\n"
    "  give_token()\n"
    "  return {'knock'}\n"
    "end\n"
    "local function may_enter()\n"
    "  local a, addr = rk(room, 'access'), ARGV[12]\n"
    "  local at = tonumber(ARGV[22])\n"
    "  if ARGV[21] == '1' and at > 0 then\n"
    "    local k = rk(room, 'tokens')\n"
    "    if tonumber(redis.call('HGET', k, 'a:' .. peer) or '0') > at then\n"
    "      return {'stale', peer}\n"
    "    end\n"
    "    redis.call('HSET', k, 'a:' .. peer, ARGV[22])\n"
    "  end\n"
    "  local kept = ARGV[14] ~= '' and\n"
    "               redis.call('HGET', rk(room, 'answers'), ARGV[14])\n"
    "  local answer = kept and select(2, answer_split(kept))\n"
    "  if answer == 'admit' then\n"
    "    take_answer(room, ARGV[14])\n"
    "  elseif answer and answer ~= '' then\n"
    "    return {'denied', answer}\n"
    "  end\n"
    "  if ARGV[21] == '1' and not answer and\n"
    "     redis.call('HEXISTS', rk(room, 'lobby'), peer) == 1 then\n"
    "    return knock_here(a)\n"
    "  end\n"
    "  if back_host then return nil end\n"
    "  if addr ~= '' then\n"
    "    local untl = redis.call('HGET', rk(room, 'bans'), addr)\n"
    "    if untl and tonumber(untl) > now_ms() then return {'banned'} end\n"
    "  end\n"
    "  if redis.call('HLEN', members) == 0 or ARGV[10] == '1' or\n"
    "     answer == 'admit' then\n"
    "    return nil\n"
    "  end\n"
    "  local hash = redis.call('HGET', a, 'hash')\n"
    "  if hash and ARGV[13] == '' then\n"
    "    return {'password', redis.call('HGET', a, 'salt')}\n"
    "  elseif hash then\n"
    "    local fails = rk(room, 'pwfail')\n"
    "    if tonumber(redis.call('GET', fails) or '0') >= tonumber(ARGV[17]) "
    "then\n"
    "      return {'pw-limited'}\n"
    "    end\n"
    "    if ARGV[13] ~= hash then\n"
    "      if redis.call('INCR', fails) == 1 then\n"
    "        redis.call('PEXPIRE', fails, ARGV[18])\n"
    "      end\n"
    "      return {'wrong-password'}\n"
    "    end\n"
    "  end\n"
    "  if redis.call('HGET', a, 'locked') ~= '1' then return nil end\n"
    "  return knock_here(a)\n"
    "end\n"
    "local st = 'ok'\n"
    "local holder = redis.call('HGET', rk(room, 'nodes'), peer)\n"
    "if holder and holder ~= node then return {'moved'} end\n"
    "if holder then\n"
    "  st = 'exists'\n"
    "  redis.call('ZREM', GRACE, gk(room, peer, node))\n"
    "  local had = redis.call('HGET', members, peer)\n"
    "  if had then json = with_role(json, is_host(had)) end\n"
    "elseif ARGV[6] == '0' then\n"
    "  local no = may_enter()\n"
    "  if no then return no end\n"
    "  if redis.call('HLEN', members) >= tonumber(ARGV[5]) then\n"
    "    knock_tokens(room, peer)\n"
    "    return {'full'}\n"
    "  end\n"
    "  if back_host then redis.call('DEL', back) end\n"
    "  if ARGV[10] == '1' or (ARGV[10] == '-1' and back_host == '1') or\n"
    "     (ARGV[10] == '-1' and redis.call('HLEN', members) == 0) then\n"
    "    json, env = with_role(json, true), with_role(env, true)\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', members, peer, json)\n"
    "redis.call('HSET', rk(room, 'nodes'), peer, node)\n"
    "redis.call('ZADD', rk(room, 'order'), 'NX',\n"
    "           redis.call('HINCRBY', rk(room, 'access'), 'seq', 1), peer)\n"
    "if ARGV[12] ~= '' then redis.call('HSET', rk(room, 'addrs'), peer, "
    "ARGV[12]) end\n"
    "if ARGV[11] == '1' then redis.call('HSET', rk(room, 'access'), 'tokens', "
    "'1') end\n"
    "give_token()\n"
    "if ARGV[20] ~= '0' then\n"
    "  redis.call('HSETNX', rk(room, 'tokens'), 'm:' .. peer, ARGV[20])\n"
    "end\n"
    "redis.call('SADD', NODE .. node .. ':peers', room .. ' ' .. peer)\n"
    "redis.call('SADD', NODES, node)\n"
    "chat_persist(room)\n"
    "if st == 'ok' then announce(room, env) end\n"
    "local flat, chat = state(room, ARGV[9])\n"
    "return {st, flat, chat, access_reply(room, json)}\n";

/* ARGV: room token new_token node chatmax attempt
 * -> {'none'} | {'stale', peer} | {'knock', peer, since} |
 * {'ok', flat members, chat, access, peer, old node, peer json, moves}
 * (access as for join). A knock's token (its id in the lobby, or an
 * answer kept for it) answers 'knock' with the knock's since: the join
 * that takes it over follows, and records attempt in a: (the join
 * script), so that only a take-over that happened outranks a lower one.
 * A seat answers to its token (p:) and, until that one is used, to the one
 * before (q:): the welcome that carried the newer one may have been lost
 * (docs/protocol.md, "Resume"). But not to a resume whose attempt (> 0:
 * the page numbers its resumes) is no higher than the last one's (a:),
 * which reached a server first: the page moved on from this one. m:
 * counts the seat's moves between nodes, which its x-moved carries. */
static const char bus_lua_resume[] = BUS_LUA_PRELUDE
    "local room, node = ARGV[1], ARGV[4]\n"
    "local k = rk(room, 'tokens')\n"
    "local peer = redis.call('HGET', k, 't:' .. ARGV[2])\n"
    "if not peer then return {'none'} end\n"
    "local old = redis.call('HGET', rk(room, 'nodes'), peer)\n"
    "local json = redis.call('HGET', rk(room, 'members'), peer)\n"
    "local row, knock\n"
    "if not (old and json) then\n"
    "  row = redis.call('HGET', rk(room, 'lobby'), peer)\n"
    "  knock = row or redis.call('HGET', rk(room, 'answers'), peer)\n"
    "  if not knock then\n"
    "    forget_tokens(room, peer, true)\n"
    "    redis.call('HDEL', k, 't:' .. ARGV[2])\n"
    "    return {'none'}\n"
    "  end\n"
    "end\n"
    "local at = tonumber(ARGV[6])\n"
    "if at > 0 then\n"
    "  if at <= tonumber(redis.call('HGET', k, 'a:' .. peer) or '0') then\n"
    "    return {'stale', peer}\n"
    "  end\n"
    "  if not knock then redis.call('HSET', k, 'a:' .. peer, ARGV[6]) end\n"
    "end\n"
    "if knock then\n"
    "  local since = row and string.match(select(3, lobby_split(row)),\n"
    "                                     '\"since\":(%d+)')\n"
    "  return {'knock', peer, tonumber(since or '0')}\n"
    "end\n"
    "local cur = redis.call('HGET', k, 'p:' .. peer)\n"
    "if cur == ARGV[2] then\n"
    "  local prev = redis.call('HGET', k, 'q:' .. peer)\n"
    "  if prev then redis.call('HDEL', k, 't:' .. prev) end\n"
    "  redis.call('HSET', k, 'q:' .. peer, ARGV[2])\n"
    "elseif cur then\n"
    "  redis.call('HDEL', k, 't:' .. cur)\n"
    "end\n"
    "redis.call('ZREM', GRACE, gk(room, peer, old))\n"
    "redis.call('HSET', k, 't:' .. ARGV[3], peer, 'p:' .. peer, ARGV[3])\n"
    "local moves = tonumber(redis.call('HGET', k, 'm:' .. peer) or '0')\n"
    "if old ~= node then\n"
    "  moves = redis.call('HINCRBY', k, 'm:' .. peer, 1)\n"
    "  redis.call('SREM', NODE .. old .. ':peers', room .. ' ' .. peer)\n"
    "  redis.call('SADD', NODE .. node .. ':peers', room .. ' ' .. peer)\n"
    "  redis.call('HSET', rk(room, 'nodes'), peer, node)\n"
    "  redis.call('SADD', NODES, node)\n"
    "end\n"
    "local flat, chat = state(room, ARGV[5])\n"
    "return {'ok', flat, chat, access_reply(room, json), peer, old, json,\n"
    "        moves}\n";

/* ARGV: room token node -> '<peer> <moves> <peer json>' when token is
 * the token of a seat node holds, else ''. For a resume whose answer was
 * lost: token is the one it gave the seat (the resume script deletes it as
 * soon as anyone takes the seat back with another). */
static const char bus_lua_seat_of[] = BUS_LUA_PRELUDE
    "local room, k = ARGV[1], rk(ARGV[1], 'tokens')\n"
    "local peer = redis.call('HGET', k, 't:' .. ARGV[2])\n"
    "if not peer or redis.call('HGET', rk(room, 'nodes'), peer) ~= ARGV[3] "
    "then\n"
    "  return ''\n"
    "end\n"
    "local json = redis.call('HGET', rk(room, 'members'), peer)\n"
    "if not json then return '' end\n"
    "return peer .. ' ' .. (redis.call('HGET', k, 'm:' .. peer) or '0') ..\n"
    "       ' ' .. json\n";

/* ARGV: room peer node ttl envelope ticket -> 1 removed | 0 not held by
 * node. ticket (ms) > 0: the seat's token becomes a return ticket, the
 * key back:<token> holding '1' for a host, else '0', and the room's
 * access generation (access gen: the time of the last lock or password
 * change), for that long (docs/access.md, "Coming back"); a join with
 * that token uses it while the generation is the same. The
 * leave is announced before the seat goes, so that the others hear it
 * before the hand-over it may cause (peer-state of the new host). */
static const char bus_lua_leave[] = BUS_LUA_PRELUDE
    "local room, peer, node = ARGV[1], ARGV[2], ARGV[3]\n"
    "if redis.call('HGET', rk(room, 'nodes'), peer) ~= node then return 0 "
    "end\n"
    "local tok = redis.call('HGET', rk(room, 'tokens'), 'p:' .. peer)\n"
    "if tonumber(ARGV[6]) > 0 and tok then\n"
    "  local host = is_host(redis.call('HGET', rk(room, 'members'), peer))\n"
    "  local gen = redis.call('HGET', rk(room, 'access'), 'gen') or '0'\n"
    "  redis.call('SET', rk(room, 'back:' .. tok),\n"
    "             (host and '1' or '0') .. ' ' .. gen, 'PX', ARGV[6])\n"
    "end\n"
    "announce(room, ARGV[5])\n"
    "remove(room, peer, node, ARGV[4])\n"
    "return 1\n";

/* ARGV: room peer node json envelope -> 1 updated | 0 not held by node.
 * The role stays the one Redis has (a host may have changed it while the
 * member's own update was on its way). */
static const char bus_lua_update[] = BUS_LUA_PRELUDE
    "local room, peer = ARGV[1], ARGV[2]\n"
    "if redis.call('HGET', rk(room, 'nodes'), peer) ~= ARGV[3] then return 0 "
    "end\n"
    "local host = is_host(redis.call('HGET', rk(room, 'members'), peer))\n"
    "redis.call('HSET', rk(room, 'members'), peer, with_role(ARGV[4], host))\n"
    "announce(room, with_role(ARGV[5], host))\n"
    "return 1\n";

/* ARGV: room json chatmax ttl envelope maxbytes node -> 1. Keeps json as
 * the room's newest message: first the oldest messages of all rooms make
 * way until every room's history together fits in maxbytes (none is kept
 * when json alone is over it), then the room's oldest beyond chatmax go.
 * Then relays the envelope to the room's other nodes (to_nodes): node, the
 * sender's, delivered it already, and a node whose join is on its way gets
 * the chat in its join's history or, once joined, relayed. */
static const char bus_lua_chat[] = BUS_LUA_PRELUDE
    "local room, json = ARGV[1], ARGV[2]\n"
    "local key, budget = rk(room, 'chat'), tonumber(ARGV[6])\n"
    "hexpired(now_ms())\n"
    "if #json <= budget then\n"
    "  local total = tonumber(redis.call('HGET', HB, '*total') or '0')\n"
    "  while total + #json > budget do\n"
    "    local oldest = redis.call('ZRANGE', HZ, 0, 0)[1]\n"
    "    if not oldest then break end\n"
    "    hpop(oldest)\n"
    "    total = tonumber(redis.call('HGET', HB, '*total') or '0')\n"
    "  end\n"
    "  local seq = redis.call('HINCRBY', HB, '*seq', 1)\n"
    "  redis.call('LPUSH', key, seq .. ' ' .. json)\n"
    "  redis.call('HINCRBY', HB, room, #json)\n"
    "  redis.call('HINCRBY', HB, '*total', #json)\n"
    "  redis.call('ZADD', HZ, 'NX', seq, room)\n"
    "  while redis.call('LLEN', key) > tonumber(ARGV[3]) do hpop(room) end\n"
    "end\n"
    "if redis.call('HLEN', rk(room, 'members')) == 0 then\n"
    "  chat_expire(room, ARGV[4])\n"
    "else\n"
    "  hkeep()\n"
    "end\n"
    "to_nodes(room, ARGV[5], ARGV[7])\n"
    "return 1\n";

/* ARGV: room chatmax -> {'ok', flat members, chat} */
static const char bus_lua_room[] =
    BUS_LUA_PRELUDE "local flat, chat = state(ARGV[1], ARGV[2])\n"
                    "return {'ok', flat, chat}\n";

/* ARGV: ttl grace self -> {members reaped, seats kept}. First the seats whose
 * grace ended (huddle:grace, scored by Redis' clock): each one still held
 * by the node that had it is removed with peer-left (reason timeout); a
 * seat resumed or re-asserted meanwhile is no longer in the set. Then
 * every registered node but self whose liveness key is gone (a node that
 * stalled may run its reaper before its heartbeat): each seat it still
 * holds waits grace ms more in huddle:grace (0: removed at once, with
 * peer-left timeout), its knocks leave the lobbies (the hosts' answers to
 * them wait the grace too, as "<room> <knock> <node>" in huddle:grace, for
 * the node to take if it comes back, and go after it), its PeerJS ids go,
 * and the node is forgotten. A node may be only stalled or cut off from Redis,
 * its pages still there: they come back to another node and resume within the
 * grace (or it comes back itself and re-asserts its seats: the join script
 * takes them out of huddle:grace), so nobody sees them leave and come back.
 * Before all that, the accounting of chat history that expired is dropped
 * (hexpired), so it goes even when no chat comes. Atomic, so when several
 * nodes reap at once only the first finds anything. Peer ids are
 * [A-Za-z0-9_-] (checked by bus_join), safe inside the JSON. */
static const char bus_lua_reap[] = BUS_LUA_PRELUDE
    "if hexpired(now_ms()) > 0 then hkeep() end\n"
    "local n, kept = 0, 0\n"
    "for _, e in ipairs(redis.call('ZRANGEBYSCORE', GRACE, '-inf', "
    "now_ms())) do\n"
    "  redis.call('ZREM', GRACE, e)\n"
    "  local a = string.find(e, ' ', 1, true)\n"
    "  local b = a and string.find(e, ' ', a + 1, true)\n"
    "  if b then\n"
    "    local room, peer = string.sub(e, 1, a - 1), string.sub(e, a + 1, b - "
    "1)\n"
    "    local node = string.sub(e, b + 1)\n"
    "    if redis.call('HGET', rk(room, 'nodes'), peer) == node then\n"
    "      timeout(room, peer, node, ARGV[1])\n"
    "      n = n + 1\n"
    "    else\n"
    "      forget_answer(room, peer, node)\n"
    "      knock_tokens(room, peer)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for _, node in ipairs(redis.call('SMEMBERS', NODES)) do\n"
    "  if node ~= ARGV[3] and redis.call('EXISTS', NODE .. node) == 0 then\n"
    "    local gone, waiting = reap_node(node, ARGV[1], ARGV[2])\n"
    "    n, kept = n + gone, kept + waiting\n"
    "  end\n"
    "end\n"
    "return {n, kept}\n";

/* ARGV: node ttl {room peer ms}... -> 1. A draining node hands its seats
 * over before it exits: each listed seat it still holds gets the deadline
 * now + ms (Redis' clock) in huddle:grace and leaves the node's set, so
 * that it stays resumable on any node until then and the reaper announces
 * it once after. Seats Redis still gives the node that it did not list
 * (a leave lost while Redis was down) are removed with peer-left timeout.
 * Then the node is forgotten: its liveness key, its set, huddle:nodes. */
static const char bus_lua_drain[] = BUS_LUA_PRELUDE
    "local node = ARGV[1]\n"
    "local set = NODE .. node .. ':peers'\n"
    "local now = now_ms()\n"
    "for i = 3, #ARGV - 2, 3 do\n"
    "  local room, peer = ARGV[i], ARGV[i + 1]\n"
    "  if redis.call('HGET', rk(room, 'nodes'), peer) == node then\n"
    "    redis.call('ZADD', GRACE, now + tonumber(ARGV[i + 2]),\n"
    "               gk(room, peer, node))\n"
    "    redis.call('SREM', set, room .. ' ' .. peer)\n"
    "  end\n"
    "end\n"
    "reap_node(node, ARGV[2], 0)\n"
    "redis.call('DEL', NODE .. node)\n"
    "return 1\n";

/* ARGV: action room by ttl [a b] -> 'ok' | 'forbidden' (by is no host
 * in Redis) | 'none' (no such member or knock) | 'last' (the last host
 * would step down) | 'full' (admit: the members and the admissions not
 * used yet fill the room's cap, b; the knock waits on). The host actions
 * of docs/access.md, checked and done
 * atomically, each published with origin "" so that every node, the
 * caller's too, applies it to its members: role (a peer, 'host'|'guest'),
 * kick (a peer, ban ms), end (admissions not used yet become denials
 * 'ended'), lock ('1'|'0'; unlocking admits everyone
 * waiting), password (salt and hash in hex, '' clears), admit and deny
 * (a knock id: its node hears x-admit or x-deny on its channel, and the
 * answer is kept in the answers hash until the knocker's node takes it:
 * its next join an admission, its withdraw either), withdraw (by is the knock
 * id: it stopped waiting or heard its answer; no host needed), and access (no
 * host needed: a node after a Redis reconnect, by one of its members): '1' when
 * Redis lost its data (its epoch changed) and the node last knew the room
 * locked or with a password. Unless another node did it first (the access has a
 * generation again), the room is locked again, given a host if none of its
 * members is one (theirs may not be back), and marked restored until a host
 * locks, unlocks or sets a password (the access message says "restored"
 * meanwhile); either way the room hears its access and its lobby (a node back
 * from a cut-off missed what changed in them meanwhile). */
static const char bus_lua_host[] = BUS_LUA_PRELUDE
    "local act, room, by, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local members = rk(room, 'members')\n"
    "local function seats_taken()\n"
    "  local n = redis.call('HLEN', members)\n"
    "  for _, v in ipairs(redis.call('HVALS', rk(room, 'answers'))) do\n"
    "    if select(2, answer_split(v)) == 'admit' then n = n + 1 end\n"
    "  end\n"
    "  return n\n"
    "end\n"
    "if act == 'withdraw' then\n"
    "  if withdraw(room, by, ARGV[5]) then\n"
    "    tell(room, lobby_msg(room))\n"
    "  end\n"
    "  return 'ok'\n"
    "end\n"
    "if act == 'access' then\n"
    "  local a = rk(room, 'access')\n"
    "  local lost = ARGV[5] == '1' and redis.call('HEXISTS', a, 'gen') == 0\n"
    "  if lost then\n"
    "    redis.call('HSET', a, 'locked', '1', 'restored', '1', 'gen',\n"
    "               tostring(now_ms()))\n"
    "    handover(room)\n"
    "  end\n"
    "  tell(room, access_msg(room))\n"
    "  tell(room, lobby_msg(room))\n"
    "  return 'ok'\n"
    "end\n"
    "if not is_host(redis.call('HGET', members, by)) then return 'forbidden' "
    "end\n"
    "local a = rk(room, 'access')\n"
    "if act == 'role' then\n"
    "  local json = redis.call('HGET', members, ARGV[5])\n"
    "  if not json then return 'none' end\n"
    "  local host = ARGV[6] == 'host'\n"
    "  if not host and is_host(json) and count_hosts(room) == 1 then\n"
    "    return 'last'\n"
    "  end\n"
    "  set_role(room, ARGV[5], json, host)\n"
    "elseif act == 'kick' then\n"
    "  local peer = ARGV[5]\n"
    "  local node = redis.call('HGET', rk(room, 'nodes'), peer)\n"
    "  if not node then return 'none' end\n"
    "  local addr, ms = redis.call('HGET', rk(room, 'addrs'), peer), "
    "tonumber(ARGV[6])\n"
    "  remove(room, peer, node, ttl)\n"
    "  tell(room, '{\"type\":\"peer-left\",\"id\":\"' .. peer ..\n"
    "             '\",\"reason\":\"kicked\",\"by\":\"' .. by .. '\"}')\n"
    "  if addr and ms > 0 then\n"
    "    local bans = rk(room, 'bans')\n"
    "    redis.call('HSET', bans, addr, now_ms() + ms)\n"
    "    if redis.call('PTTL', bans) < ms then redis.call('PEXPIRE', bans, ms) "
    "end\n"
    "  end\n"
    "elseif act == 'end' then\n"
    "  lobby_empty(room, false, '" MSG_DENIED_ENDED "')\n"
    "  deny_admitted(room, '" MSG_DENIED_ENDED "')\n"
    "  for _, peer in ipairs(redis.call('HKEYS', members)) do\n"
    "    local node = redis.call('HGET', rk(room, 'nodes'), peer) or ''\n"
    "    redis.call('ZREM', GRACE, gk(room, peer, node))\n"
    "    redis.call('SREM', NODE .. node .. ':peers', room .. ' ' .. peer)\n"
    "  end\n"
    "  redis.call('DEL', members, rk(room, 'nodes'), rk(room, 'tokens'),\n"
    "             rk(room, 'chat'))\n"
    "  forget_access(room)\n"
    "  hforget(room)\n"
    "  hkeep()\n"
    "  tell(room, '{\"type\":\"ended\",\"reason\":\"ended\",\"by\":\"' .. by "
    ".. '\"}')\n"
    "elseif act == 'lock' then\n"
    "  redis.call('HDEL', a, 'restored')\n"
    "  if ARGV[5] == '1' then\n"
    "    redis.call('HSET', a, 'locked', '1')\n"
    "  else\n"
    "    redis.call('HDEL', a, 'locked')\n"
    "  end\n"
    "  redis.call('HSET', a, 'gen', tostring(now_ms()))\n"
    "  tell(room, access_msg(room))\n"
    "  if ARGV[5] ~= '1' and lobby_empty(room, true) > 0 then\n"
    "    tell(room, lobby_msg(room))\n"
    "  end\n"
    "elseif act == 'password' then\n"
    "  redis.call('HDEL', a, 'restored')\n"
    "  if ARGV[5] == '' then\n"
    "    redis.call('HDEL', a, 'salt', 'hash')\n"
    "  else\n"
    "    redis.call('HSET', a, 'salt', ARGV[5], 'hash', ARGV[6])\n"
    "  end\n"
    "  redis.call('HSET', a, 'gen', tostring(now_ms()))\n"
    "  tell(room, access_msg(room))\n"
    "elseif act == 'admit' and redis.call('HEXISTS', rk(room, 'lobby'),\n"
    "                                     ARGV[5]) == 1 and\n"
    "       seats_taken() >= tonumber(ARGV[6]) then\n"
    "  return 'full'\n"
    "elseif act == 'admit' or act == 'deny' then\n"
    "  if not lobby_answer(room, ARGV[5],\n"
    "                      act == 'admit' and 'admit' or '" MSG_DENIED_HOST
    "') then\n"
    "    return 'none'\n"
    "  end\n"
    "  tell(room, lobby_msg(room))\n"
    "else\n"
    "  return redis.error_reply('unknown action')\n"
    "end\n"
    "return 'ok'\n";

/* The PeerJS ids of the cluster (docs/peerjs.md, "Several sidecars"):
 * huddle:pj:<id> is "<node> <token>", held while that node is alive (its
 * liveness key) and the socket open; huddle:node:<node>:pj lists a node's
 * ids for the reaper; huddle:pj:<id>:waiting is the set of nodes holding
 * messages for the id, told when it opens. Ids are [A-Za-z0-9 _-] (checked
 * by the bus), safe inside the JSON. */

/* ARGV: id node token -> 1 claimed | 0 held by another live node or
 * token. The nodes waiting for the id hear {"pj-open":id,"node":node} on
 * their channel (origin ""). */
static const char bus_lua_pj_claim[] = BUS_LUA_PRELUDE
    "local id, node, token = ARGV[1], ARGV[2], ARGV[3]\n"
    "local owner, tok = pj_owner(id)\n"
    "if owner and (owner ~= node or tok ~= token) and\n"
    "   redis.call('EXISTS', NODE .. owner) == 1 then return 0 end\n"
    "if owner and owner ~= node then\n"
    "  redis.call('SREM', NODE .. owner .. ':pj', id)\n"
    "end\n"
    "redis.call('SET', 'huddle:pj:' .. id, node .. ' ' .. token)\n"
    "redis.call('SADD', NODE .. node .. ':pj', id)\n"
    "redis.call('SADD', NODES, node)\n"
    "local w = 'huddle:pj:' .. id .. ':waiting'\n"
    "for _, n in ipairs(redis.call('SMEMBERS', w)) do\n"
    "  redis.call('PUBLISH', NODE_CH .. n,\n"
    "    '{\"origin\":\"\",\"msg\":{\"pj-open\":\"' .. id .. '\",\"node\":\"' "
    "..\n"
    "    node .. '\"}}')\n"
    "end\n"
    "redis.call('DEL', w)\n"
    "return 1\n";

/* ARGV: id node token -> 1 released | 0 not held by node with token. */
static const char bus_lua_pj_release[] =
    BUS_LUA_PRELUDE "local owner, tok = pj_owner(ARGV[1])\n"
                    "if owner ~= ARGV[2] or tok ~= ARGV[3] then return 0 end\n"
                    "redis.call('DEL', 'huddle:pj:' .. ARGV[1])\n"
                    "redis.call('SREM', NODE .. ARGV[2] .. ':pj', ARGV[1])\n"
                    "return 1\n";

/* ARGV: id node ms -> the node holding id (alive) | '' none: then node is
 * told when id opens (within ms; each call renews it). */
static const char bus_lua_pj_route[] = BUS_LUA_PRELUDE
    "local owner = pj_owner(ARGV[1])\n"
    "if owner and redis.call('EXISTS', NODE .. owner) == 1 then\n"
    "  return owner\n"
    "end\n"
    "local w = 'huddle:pj:' .. ARGV[1] .. ':waiting'\n"
    "redis.call('SADD', w, ARGV[2])\n"
    "redis.call('PEXPIRE', w, ARGV[3])\n"
    "return ''\n";

#endif
