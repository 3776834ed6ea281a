#include <stdlib.h>

#include "check.h"
#include "tpl.h"

static const char *const names[] = {"room", "name"};

/* Renders text with room and name into a static buffer, NUL-terminated;
 * returns NULL when parsing or rendering fails. */
static const char *render(const char *text, const char *room, const char *name)
{
    static char out[1024];
    struct tpl_value vals[2] = {{room, strlen(room)}, {name, strlen(name)}};
    struct tpl *t = tpl_parse(text, strlen(text), names, 2, NULL);
    long n;

    if (t == NULL)
        return NULL;
    n = tpl_render(t, vals, out, sizeof out - 1);
    if (n >= 0 && (size_t)n != tpl_size(t, vals))
        n = -1;
    tpl_free(t);
    if (n < 0)
        return NULL;
    out[n] = '\0';
    return out;
}

TEST(escape_replaces_all_five_html_specials)
{
    char out[64];
    const char *in = "&<>\"'x";
    size_t n = tpl_escape(out, in, strlen(in));

    out[n] = '\0';
    CHECK_STR(out, "&amp;&lt;&gt;&quot;&#39;x");
    CHECK(tpl_escaped_size(in, strlen(in)) == n);
}

TEST(escape_leaves_plain_text_and_utf8_alone)
{
    char out[64];
    const char *in = "team-standup_9 \xc3\xa9";
    size_t n = tpl_escape(out, in, strlen(in));

    out[n] = '\0';
    CHECK_STR(out, in);
}

TEST(render_escapes_values_by_default)
{
    CHECK_STR(render("<p>{{room}}</p>", "<script>alert('x')</script>", ""),
              "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>");
    CHECK_STR(render("<a title=\"{{name}}\">", "", "\" onload=\"x"),
              "<a title=\"&quot; onload=&quot;x\">");
}

TEST(render_fills_every_occurrence_and_adjacent_slots)
{
    CHECK_STR(render("{{room}}{{name}}|{{room}}", "r", "n"), "rn|r");
    CHECK_STR(render("no slots here", "r", "n"), "no slots here");
    CHECK_STR(render("", "r", "n"), "");
    CHECK_STR(render("{ {room} }", "r", "n"), "{ {room} }");
}

TEST(parse_rejects_unknown_and_unterminated_placeholders)
{
    const char *err = NULL;

    CHECK(tpl_parse("a {{nope}} b", 12, names, 2, &err) == NULL);
    CHECK_STR(err, "unknown placeholder");
    CHECK(tpl_parse("a {{room b", 10, names, 2, &err) == NULL);
    CHECK_STR(err, "unterminated {{");
    CHECK(tpl_parse("{{room}}", 8, NULL, 0, &err) == NULL);
}

TEST(render_refuses_a_buffer_too_small)
{
    struct tpl *t = tpl_parse("abc{{room}}", 11, names, 1, NULL);
    struct tpl_value v = {"<<", 2};
    char out[16];

    REQUIRE(t != NULL);
    CHECK(tpl_size(t, &v) == 11);
    CHECK(tpl_render(t, &v, out, 10) == -1);
    CHECK(tpl_render(t, &v, out, 11) == 11);
    tpl_free(t);
    tpl_free(NULL);
}

TEST(load_reports_a_missing_file)
{
    CHECK(tpl_load("/nonexistent/huddle/room.html", names, 1) == NULL);
}
