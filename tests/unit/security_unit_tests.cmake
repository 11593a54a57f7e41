# Unit suites of the mesh's identities and mTLS: SPIFFE IDs, X.509 keys and CSRs, meshd's CA,
# the authorization policy, meshd's endpoints for them, the proxies' mTLS, workload identities
# and policy watching; one file each, added to mesh_unit_tests. Included from
# tests/unit/CMakeLists.txt.

foreach(concept spiffe_id x509 certificate_authority authorization_policy security_api proxy_mtls
        workload_identity policy_watcher)
  list(APPEND MESH_UNIT_TEST_SOURCES ${concept}_test.cpp)
endforeach()
