/* Checks on client text that msg.c parses (and ws.c, for UTF-8): UTF-8,
 * names, raw control characters, a member's text as written, escaped
 * NULs. Pure. */
#ifndef HUDDLE_MSG_TEXT_H
#define HUDDLE_MSG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define MSG_NAME_MAX 64

/* Returns true when the len bytes at s are well-formed UTF-8 (no
 * overlongs, no surrogates, nothing above U+10FFFF). */
bool msg_utf8_valid(const unsigned char *s, size_t len);

/* Returns true when s is an acceptable name: 1..64 UTF-8 bytes, no
 * control characters (C0, DEL, C1), no bidi embeddings, overrides or
 * isolates (U+202A..U+202E, U+2066..U+2069), and at least one visible
 * character (not only spaces, zero-width or format characters). */
bool msg_name_valid(const char *s);

/* Returns true when the len bytes at s hold no raw control character
 * inside a JSON string (RFC 8259 wants them escaped) and none outside one
 * but JSON's whitespace (tab, LF, CR). */
bool msg_json_controls_ok(const char *s, size_t len);

/* Finds the value of member key in the JSON object text s (already known
 * to parse) exactly as written: sets *val and *n and returns 0, or -1 when
 * the object has no such member. The first of duplicates counts, as with
 * cJSON's getters. */
int msg_member_raw(const char *s, size_t len, const char *key, const char **val,
                   size_t *n);

/* Makes cJSON allocate through a counter of failures, so a parse or print
 * that returns NULL can tell running out of memory (answered
 * `unavailable`) from bad input (docs/hardening.md). Called once at start;
 * without it the count stays 0 and every failure reads as bad input. */
void msg_json_init(void);

/* How many of cJSON's allocations have failed since start. */
unsigned long msg_json_nomem(void);

/* The code points of the UTF-8 string s (already valid). */
size_t msg_utf8_code_points(const char *s);

/* Finds escaped NULs (\u0000) in JSON strings in the len bytes at buf,
 * which cJSON would silently cut the C string at. When fix is set,
 * rewrites each to \u0001 in place so the string keeps its length and
 * fails every field check that refuses control characters (a room id
 * answers invalid-room, not a shorter room); the caller refuses the
 * message anyway. Returns whether there was any. */
bool msg_escaped_nul(char *buf, size_t len, bool fix);

#endif
