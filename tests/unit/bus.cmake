# The Redis bus (sidecar/bus*.c, docs/cluster.md). Its pure parts need no
# socket: bus_wire (URL, ids, envelope) and bus_sub (the subscription
# registry) link only the sidecar core; bus_reply reads the scripts'
# answers through hiredis' reader and checks what bus_create refuses, with
# no server. bus runs against a real redis-server (the top-level
# CMakeLists.txt requires it) that each test starts on a free loopback port
# (tests run in parallel under ctest -j): label "redis", so
# `ctest -LE redis` runs everything else.
huddle_unit_suite(bus_wire SOURCES test_bus_wire.c LIBS huddle_sidecar_core
    TIMEOUT 10)
huddle_unit_suite(bus_sub SOURCES test_bus_sub.c LIBS huddle_sidecar_core
    TIMEOUT 10)
huddle_unit_suite(bus_reply SOURCES test_bus_reply.c LIBS huddle_bus
    TIMEOUT 10)
huddle_unit_suite(bus SOURCES test_bus.c LIBS huddle_bus LABELS redis
    TIMEOUT 60)
target_compile_definitions(unit_bus PRIVATE
    BUS_REDIS_SERVER="${HUDDLE_REDIS_SERVER}")
