// How a metric sample value is kept in metric_samples.value. SQLite binds a NaN double as
// NULL (the column is NOT NULL, so a push with one NaN failed whole), so a NaN is stored as
// the text 'NaN': the column's REAL affinity keeps text that is not a number as text, and
// every other value, infinities included, stays a REAL. SQL over the column must skip the
// text (typeof(value) != 'text'). Stateless, thread-safe.
#pragma once

#include <cmath>
#include <limits>

#include "mesh/store/sqlite_db.h"

namespace mesh {

inline void BindSampleValue(Statement& stmt, int index, double value) {
  if (std::isnan(value)) stmt.BindStatic(index, "NaN");
  else stmt.BindDouble(index, value);
}

inline double SampleValueAt(const Statement& stmt, int col) {
  if (stmt.ColumnIsText(col)) return std::numeric_limits<double>::quiet_NaN();
  return stmt.ColumnDouble(col);
}

}  // namespace mesh
