# Unit suites of the concepts behind meshstat (text tables, shared with meshtrace; the report:
# building, JSON codec, renderers; the commands, locally and through an in-process meshd),
# labelled "unit". Included from tests/unit/CMakeLists.txt (uses its mesh_unit_test function).

foreach(concept text_table report meshstat_commands)
  mesh_unit_test(${concept} SQLite::SQLite3 JsonCpp::JsonCpp)
endforeach()
