# The Redis bus (sidecar/bus.c, docs/cluster.md). bus.c is compiled straight into
# each suite so these tests do not depend on the sidecar's own targets.
# test_bus_url needs no server; test_bus starts its own redis-server per test on a
# free loopback port (tests run in parallel under ctest -j).
pkg_check_modules(BUS_DEPS IMPORTED_TARGET hiredis libuv libcjson)
find_program(BUS_REDIS_SERVER redis-server)

if(BUS_DEPS_FOUND)
    set(bus_src ${CMAKE_SOURCE_DIR}/sidecar/bus.c)

    # bus_suite(NAME TIMEOUT SOURCES...): one ctest test per TEST().
    function(bus_suite name timeout)
        add_executable(unit_${name} ${ARGN} ${bus_src})
        target_include_directories(unit_${name} PRIVATE
            ${CMAKE_SOURCE_DIR}/sidecar)
        target_link_libraries(unit_${name} PRIVATE huddle_check huddle_common
            PkgConfig::BUS_DEPS)
        foreach(src ${ARGN})
            file(STRINGS ${src} lines REGEX "^TEST\\([a-z0-9_]+\\)")
            foreach(line ${lines})
                string(REGEX REPLACE "^TEST\\(([a-z0-9_]+)\\).*" "\\1" t
                    "${line}")
                add_test(NAME ${name}.${t} COMMAND unit_${name} ${t})
                set_tests_properties(${name}.${t} PROPERTIES
                    TIMEOUT ${timeout})
            endforeach()
        endforeach()
    endfunction()

    bus_suite(bus_url 10 ${CMAKE_CURRENT_SOURCE_DIR}/test_bus_url.c)
    if(BUS_REDIS_SERVER AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_bus.c)
        bus_suite(bus 60 ${CMAKE_CURRENT_SOURCE_DIR}/test_bus.c)
        target_compile_definitions(unit_bus PRIVATE
            BUS_REDIS_SERVER="${BUS_REDIS_SERVER}")
    endif()
else()
    message(STATUS "bus tests skipped: hiredis, libuv or libcjson missing")
endif()
