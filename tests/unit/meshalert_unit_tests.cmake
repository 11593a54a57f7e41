# Unit suites of the concepts behind meshalert (rules, the alert state machine, signals from the
# store, notifications, the engine, the commands): one GoogleTest executable per file, labelled
# "unit". Included from tests/unit/CMakeLists.txt (uses its mesh_unit_test function).

foreach(concept alert_rule alert_state alert_store signal_source alert_notifier alert_engine alert_manager
        meshalert_commands)
  mesh_unit_test(${concept} SQLite::SQLite3 JsonCpp::JsonCpp)
  target_compile_definitions(${concept}_test PRIVATE MESH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endforeach()
