// The dashboard: one self-contained HTML page (no CDN, no external assets) that meshd serves
// at / and /dashboard, and at /dashboard/traces/{id} where it shows a trace's waterfall. It
// reads meshd's JSON API and refreshes itself. The page is share/mesh/dashboard/index.html,
// compiled into the library at build time.
#pragma once

#include <string_view>

namespace mesh {

std::string_view DashboardHtml();

}  // namespace mesh
