# Unit suites of the concepts behind meshtrace and the tracing API (traceparent, Tracer, trace
# trees, rendering, span statistics): one GoogleTest executable per file, labelled "unit".
# Included from tests/unit/CMakeLists.txt (uses its mesh_unit_test function).

foreach(concept traceparent tracer trace_tree trace_render span_stats)
  mesh_unit_test(${concept} SQLite::SQLite3 JsonCpp::JsonCpp)
endforeach()
