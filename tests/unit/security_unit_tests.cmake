# Unit suites of the mesh's identities and mTLS: SPIFFE IDs, X.509 keys and CSRs, meshd's CA,
# the authorization policy and meshd's endpoints for them. Included from tests/unit/CMakeLists.txt.

foreach(concept spiffe_id x509 certificate_authority authorization_policy)
  mesh_unit_test(${concept})
endforeach()
mesh_unit_test(security_api JsonCpp::JsonCpp)
mesh_unit_test(proxy_mtls OpenSSL::SSL OpenSSL::Crypto Boost::headers)
foreach(concept workload_identity policy_watcher)
  mesh_unit_test(${concept})
endforeach()
