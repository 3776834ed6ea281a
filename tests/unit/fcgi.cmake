# huddle-fcgi: template, router and page building (pure logic, no sockets).
if(TARGET huddle_fcgi_core)
    huddle_unit_suite(fcgi_tpl SOURCES test_fcgi_tpl.c LIBS huddle_fcgi_core)
    huddle_unit_suite(fcgi_router SOURCES test_fcgi_router.c
        LIBS huddle_fcgi_core)
    huddle_unit_suite(fcgi_pages SOURCES test_fcgi_pages.c
        LIBS huddle_fcgi_core)
endif()
