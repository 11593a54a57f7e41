# Unit suites of the concepts behind meshd (HTTP, ingest decoders, metrics, the store's span,
# registry, metric and writer concepts): one GoogleTest executable per file, named after the
# file, labelled "unit". Meant to be include()d from tests/unit/CMakeLists.txt; paths are
# relative to this file so that it works from wherever it is included.
#
# Every suite links JsonCpp and SQLite, which mesh links PRIVATE: several suites check JSON
# output with jsoncpp or a store with the plain SQLite C API.

set(MESHD_UNIT_TESTS
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

foreach(stem IN LISTS MESHD_UNIT_TESTS)
  add_executable(${stem} ${CMAKE_CURRENT_LIST_DIR}/${stem}.cpp)
  target_include_directories(${stem} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${stem} PRIVATE
    mesh::mesh GTest::gtest_main GTest::gmock JsonCpp::JsonCpp SQLite::SQLite3 ZLIB::ZLIB)
  # Tests fill options and filters with designated initialisers and leave the other members
  # default-constructed on purpose; GCC 12 warns about that.
  target_compile_options(${stem} PRIVATE -Wno-missing-field-initializers)
  # A hung test fails after a minute instead of stalling the suite.
  gtest_discover_tests(${stem} DISCOVERY_TIMEOUT 30 PROPERTIES LABELS unit TIMEOUT 60)
endforeach()
