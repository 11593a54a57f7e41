// Whether this test binary, and so the binaries it starts (built with the same flags), runs
// under AddressSanitizer. Its allocator keeps freed blocks in quarantine (256 MiB by default)
// and pads every block, so a resident-memory bound measured on the Release build says nothing
// there: tests keep checking everything else and leave memory bounds to the Release run.
#pragma once

namespace mesh::test_support {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace mesh::test_support
