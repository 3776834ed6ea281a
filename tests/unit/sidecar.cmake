# Sidecar suites: pure logic of sidecar/ (no sockets).
if(TARGET huddle_sidecar_core)
    huddle_unit_suite(sidecar_msg SOURCES test_sidecar_msg.c
        LIBS huddle_sidecar_core)
    huddle_unit_suite(sidecar_links SOURCES test_sidecar_links.c
        LIBS huddle_sidecar_core)
    huddle_unit_suite(sidecar_room SOURCES test_sidecar_room.c
        LIBS huddle_sidecar_core)
    huddle_unit_suite(sidecar_hub SOURCES test_sidecar_hub.c
        LIBS huddle_sidecar_core)
    huddle_unit_suite(sidecar_misc SOURCES test_sidecar_misc.c
        LIBS huddle_sidecar_core)
    huddle_unit_suite(sidecar_metrics SOURCES test_sidecar_metrics.c
        LIBS huddle_sidecar_core)
    huddle_unit_suite(sidecar_access SOURCES test_sidecar_access.c
        LIBS huddle_sidecar_core)
    huddle_unit_suite(sidecar_peerjs SOURCES test_sidecar_peerjs.c
        LIBS huddle_sidecar_core)
    # Join tokens; two tests run scripts/mint-token.sh (bash, openssl).
    huddle_unit_suite(sidecar_jwt SOURCES test_sidecar_jwt.c
        LIBS huddle_sidecar_core)
    target_compile_definitions(unit_sidecar_jwt PRIVATE
        HUDDLE_MINT_SCRIPT="${CMAKE_SOURCE_DIR}/scripts/mint-token.sh")
endif()
# Cluster suites: the pure parts of the cluster (no Redis, no sockets).
if(TARGET huddle_cluster_core)
    huddle_unit_suite(sidecar_pending SOURCES test_sidecar_pending.c
        LIBS huddle_cluster_core)
    huddle_unit_suite(sidecar_route SOURCES test_sidecar_route.c
        LIBS huddle_cluster_core)
endif()
