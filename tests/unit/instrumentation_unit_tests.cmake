# Unit suites of the instrumentation for C++ services (ObservableService, MetricsPusher), one
# file each, added to mesh_unit_tests. Included from tests/unit/CMakeLists.txt.

list(APPEND MESH_UNIT_TEST_SOURCES observable_service_test.cpp metrics_pusher_test.cpp)
