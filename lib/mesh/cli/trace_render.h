// Text rendering of a trace for `meshtrace show`: one line per span in tree order with
// indentation, service, operation, duration, a waterfall bar placed at the span's offset and
// scaled to the width, and its status. Error spans are marked ("✗", and red with color),
// critical-path spans are marked ("*", and bold with color), skew-adjusted spans say so,
// synthetic nodes read "(missing parent <id>)". Verbose adds each span's attributes and events
// (indented under it). Logs are interleaved under the span they name (by span id; records
// with only the trace id go under the trace's first root), oldest first.
// Every value from the store is printed with control characters escaped (a service name cannot
// move the cursor or change colors). Pure.
#pragma once

#include <string>
#include <vector>

#include "mesh/telemetry/log_record.h"
#include "mesh/telemetry/trace_tree.h"

namespace mesh {

struct TraceRenderOptions {
  int width = 100;      // total line width in columns; the bar takes what the text leaves
  bool color = false;   // ANSI colors (a terminal)
  bool verbose = false; // attributes, events and links
};

// A header line (trace id, span count, services, duration, start time), then the tree.
std::string RenderTrace(const TraceTree& tree, const std::vector<LogRecord>& logs,
                        const TraceRenderOptions& options);

}  // namespace mesh
