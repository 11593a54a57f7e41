# lint.meshproxy_needs: meshproxy is the data plane and must not load SQLite, civetweb or libcurl
# (issue 17). Reads the NEEDED entries of the built binary with readelf (binutils) and fails
# naming each of those libraries found; the proxy layer's CMake dependencies are what keep them
# out. Run as: cmake -DBINARY=<path to meshproxy> -P lint_meshproxy_needs.cmake
if(NOT BINARY OR NOT EXISTS "${BINARY}")
  message(FATAL_ERROR "lint_meshproxy_needs: no binary at '${BINARY}' (pass -DBINARY=<path to meshproxy>)")
endif()
find_program(READELF readelf)
if(NOT READELF)
  message(FATAL_ERROR "lint_meshproxy_needs: readelf not found (install binutils: scripts/install-deps.sh)")
endif()
execute_process(COMMAND "${READELF}" -d "${BINARY}"
  OUTPUT_VARIABLE dynamic ERROR_VARIABLE error RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "lint_meshproxy_needs: readelf -d ${BINARY} failed: ${error}")
endif()
string(REGEX MATCHALL "Shared library: \\[[^]]+\\]" needed "${dynamic}")
if(NOT needed)
  message(FATAL_ERROR "lint_meshproxy_needs: no NEEDED entries in ${BINARY}: is it a dynamic executable?")
endif()
set(found "")
foreach(entry ${needed})
  string(REGEX REPLACE "Shared library: \\[([^]]+)\\]" "\\1" library "${entry}")
  if(library MATCHES "^lib(sqlite3|civetweb|curl)[.-]")
    list(APPEND found "${library}")
  endif()
endforeach()
if(found)
  list(JOIN found ", " found)
  message(FATAL_ERROR "lint_meshproxy_needs: ${BINARY} needs ${found}: the proxy layer must not link "
                      "SQLite, civetweb or libcurl (see which library of lib/mesh/proxy/CMakeLists.txt brings it)")
endif()
message(STATUS "lint_meshproxy_needs: ${BINARY} needs none of libsqlite3, libcivetweb, libcurl")
