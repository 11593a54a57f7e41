# Unit suites of the instrumentation for C++ services (ObservableService, MetricsPusher): one
# GoogleTest executable per file, labelled "unit". Included from tests/unit/CMakeLists.txt.

foreach(concept observable_service metrics_pusher)
  mesh_unit_test(${concept} SQLite::SQLite3 JsonCpp::JsonCpp)
endforeach()
