# Unit suites of the concepts behind meshproxy (the data plane, balancing, outlier detection,
# retry budget, registry client, telemetry shipping), labelled "unit". The data-plane suite
# runs real sockets on 127.0.0.1. Included from tests/unit/CMakeLists.txt.

foreach(concept bounded_queue http_proxy load_balancer outlier_detector retry_budget registry_client
    telemetry_shipper proxy_config discovery_upstreams)
  mesh_unit_test(${concept} SQLite::SQLite3 JsonCpp::JsonCpp)
endforeach()
