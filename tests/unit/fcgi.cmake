# huddle-fcgi: template, router, page building and the FastCGI records
# (pure logic, no sockets).
if(TARGET huddle_fcgi_core)
    huddle_unit_suite(fcgi_tpl SOURCES test_fcgi_tpl.c LIBS huddle_fcgi_core)
    huddle_unit_suite(fcgi_router SOURCES test_fcgi_router.c
        LIBS huddle_fcgi_core)
    huddle_unit_suite(fcgi_pages SOURCES test_fcgi_pages.c
        LIBS huddle_fcgi_core)
    huddle_unit_suite(fcgi_wire SOURCES test_fcgi_wire.c
        LIBS huddle_fcgi_core)
endif()
