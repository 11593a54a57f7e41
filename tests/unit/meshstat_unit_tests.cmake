# Unit suites of the concepts behind meshstat (text tables, shared with meshtrace; the report:
# building, JSON codec, renderers; the commands, locally and through an in-process meshd), one
# file each, added to mesh_unit_tests. Included from tests/unit/CMakeLists.txt.

foreach(concept text_table report meshstat_commands)
  list(APPEND MESH_UNIT_TEST_SOURCES ${concept}_test.cpp)
endforeach()
