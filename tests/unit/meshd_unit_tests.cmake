# Unit suites of the concepts behind meshd (HTTP, ingest decoders, metrics, the store's span,
# registry, metric and writer concepts), one file each, added to mesh_unit_tests. Included from
# tests/unit/CMakeLists.txt; paths are relative to this file so that it works from wherever it
# is included.

foreach(stem
    http_message_test
    http_router_test
    http_server_test
    control_plane_test
    hostile_input_test
    json_tape_test
    otlp_test
    zipkin_test
    prometheus_text_test
    prometheus_targets_test
    metrics_test
    golden_signals_test
    log_api_test
    token_file_test
    registry_test
    span_store_test
    store_writer_test
    wal_checkpointer_test
    metric_store_test
    span_test
    gzip_test)
  list(APPEND MESH_UNIT_TEST_SOURCES ${CMAKE_CURRENT_LIST_DIR}/${stem}.cpp)
endforeach()
