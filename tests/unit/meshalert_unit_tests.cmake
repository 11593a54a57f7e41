# Unit suites of the concepts behind meshalert (rules, the alert state machine, signals from the
# store, notifications, the engine, the commands), one file each, added to mesh_unit_tests.
# Included from tests/unit/CMakeLists.txt.

foreach(concept alert_rule alert_state alert_store signal_source alert_notifier alert_engine alert_manager
        meshalert_commands)
  list(APPEND MESH_UNIT_TEST_SOURCES ${concept}_test.cpp)
endforeach()
