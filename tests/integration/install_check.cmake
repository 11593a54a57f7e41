# `make install` as a packager runs it (staged under DESTDIR): the tools, the man pages and
# share/mesh (example rules, policy, prometheus.yml, crontab, systemd units) land under the
# prefix, and the hint a tool gives for a missing config file names a file that is really there.
# Run by ctest: cmake -DBUILD_DIR= -DSTAGE= -DPREFIX= -DBINDIR= -DDATADIR= -DMANDIR= -P install_check.cmake
file(REMOVE_RECURSE "${STAGE}")
execute_process(COMMAND ${CMAKE_COMMAND} -E env DESTDIR=${STAGE} ${CMAKE_COMMAND} --install "${BUILD_DIR}"
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc}): ${err}")
endif()
set(root "${STAGE}${PREFIX}")
foreach(file ${BINDIR}/meshd ${BINDIR}/meshproxy ${BINDIR}/meshalert ${BINDIR}/meshlog ${BINDIR}/meshtrace
        ${BINDIR}/meshstat ${MANDIR}/man1/meshalert.1 ${MANDIR}/man8/meshd.8
        ${DATADIR}/mesh/rules.example.json ${DATADIR}/mesh/policy.example.json ${DATADIR}/mesh/prometheus.yml
        ${DATADIR}/mesh/crontab.example ${DATADIR}/mesh/systemd/meshd.service
        ${DATADIR}/mesh/systemd/meshproxy@.service)
  if(NOT EXISTS "${root}/${file}")
    message(FATAL_ERROR "not installed: ${PREFIX}/${file}")
  endif()
endforeach()

# The installed tools' hints, followed as a user would: the file they name exists once installed.
execute_process(COMMAND "${root}/${BINDIR}/meshalert" --db "${STAGE}/mesh.db" check --rules "${STAGE}/absent.json"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 3 OR NOT err MATCHES "copy ([^ ]+/rules\\.example\\.json) there")
  message(FATAL_ERROR "meshalert check --rules <missing>: exit ${rc}, expected 3 and a file to copy: ${err}")
endif()
if(NOT EXISTS "${STAGE}${CMAKE_MATCH_1}")
  message(FATAL_ERROR "meshalert names ${CMAKE_MATCH_1}, which make install did not put there: ${err}")
endif()
execute_process(COMMAND "${root}/${BINDIR}/meshd" --listen 127.0.0.1:0 --db "${STAGE}/mesh.db" --policy "${STAGE}/absent.json"
                TIMEOUT 30 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "copy ([^ ]+/policy\\.example\\.json) there")
  message(FATAL_ERROR "meshd --policy <missing>: exit ${rc}, expected a failure naming a file to copy: ${err}")
endif()
if(NOT EXISTS "${STAGE}${CMAKE_MATCH_1}")
  message(FATAL_ERROR "meshd names ${CMAKE_MATCH_1}, which make install did not put there: ${err}")
endif()
file(REMOVE_RECURSE "${STAGE}")
