# Unit suites of the concepts behind meshproxy (the data plane, its HTTP client to meshd,
# balancing, outlier detection, retry budget, registry client, telemetry shipping), one file
# each, added to mesh_unit_tests. The data-plane and client suites run real sockets on
# 127.0.0.1. Included from tests/unit/CMakeLists.txt.

foreach(concept bounded_queue http_proxy http_url asio_http_client load_balancer outlier_detector
    retry_budget registry_client telemetry_shipper proxy_config discovery_upstreams)
  list(APPEND MESH_UNIT_TEST_SOURCES ${concept}_test.cpp)
endforeach()
