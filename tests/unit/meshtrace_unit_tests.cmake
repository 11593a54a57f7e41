# Unit suites of the concepts behind meshtrace and the tracing API (traceparent, Tracer, trace
# trees, rendering, span statistics), one file each, added to mesh_unit_tests. Included from
# tests/unit/CMakeLists.txt.

foreach(concept traceparent tracer trace_tree trace_render span_stats)
  list(APPEND MESH_UNIT_TEST_SOURCES ${concept}_test.cpp)
endforeach()
