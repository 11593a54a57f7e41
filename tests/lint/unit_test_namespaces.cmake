# lint.unit_test_namespaces: no unit test file opens an anonymous namespace. The unit tests are
# compiled in unity batches (tests/unit/CMakeLists.txt), several files to one translation unit,
# where two files' anonymous namespaces are one namespace and their helpers (a kNow, a Headers)
# collide, or worse, one file silently uses the other's. Each file names its namespace after its
# path instead: tests/unit/store/log_store_test.cpp uses `namespace store_log_store_test {`.
# Run: cmake -DUNIT_DIR=tests/unit -P tests/lint/unit_test_namespaces.cmake
file(GLOB_RECURSE files RELATIVE ${UNIT_DIR} ${UNIT_DIR}/*.cpp)
set(bad "")
foreach(file ${files})
  file(STRINGS ${UNIT_DIR}/${file} lines REGEX "^[ \t]*namespace[ \t]*{")
  if(lines)
    string(REGEX REPLACE "\\.cpp$" "" expected ${file})
    string(REPLACE "/" "_" expected ${expected})
    list(APPEND bad "${file}: anonymous namespace, name it `namespace ${expected} {`")
  endif()
endforeach()
if(bad)
  list(JOIN bad "\n" report)
  message(FATAL_ERROR "${report}")
endif()
