// LineSplitter: cuts a byte stream into lines without ever holding more than one line's worth
// (up to a limit) in memory. A longer line is cut at the limit and the rest of it counted, not
// kept. A trailing '\r' is removed. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mesh {

class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line_bytes) : max_(max_line_bytes) {}

  // Calls emit(std::string_view line, uint64_t dropped_bytes) for every line completed by
  // `chunk`. The view is valid only during the call.
  template <typename Emit>
  void Feed(std::string_view chunk, Emit&& emit) {
    while (!chunk.empty()) {
      const void* nl = std::memchr(chunk.data(), '\n', chunk.size());
      const size_t len = nl ? static_cast<const char*>(nl) - chunk.data() : chunk.size();
      Append(chunk.substr(0, len), nl != nullptr, emit);
      chunk.remove_prefix(nl ? len + 1 : len);
    }
  }

  // Emits the last line when the stream did not end with a newline.
  template <typename Emit>
  void Finish(Emit&& emit) {
    if (!partial_.empty() || dropped_ > 0) Complete(partial_, emit);
  }

 private:
  template <typename Emit>
  void Append(std::string_view piece, bool ends_line, Emit& emit) {
    if (ends_line && partial_.empty() && dropped_ == 0 && piece.size() <= max_) {
      Complete(piece, emit);  // the common case: the whole line is in the chunk, no copy
      return;
    }
    const size_t room = max_ - partial_.size();
    partial_.append(piece.data(), std::min(room, piece.size()));
    if (piece.size() > room) dropped_ += piece.size() - room;
    if (ends_line) Complete(partial_, emit);
  }

  template <typename Emit>
  void Complete(std::string_view line, Emit& emit) {
    if (!line.empty() && line.back() == '\r' && dropped_ == 0) line.remove_suffix(1);
    emit(line, dropped_);
    partial_.clear();
    dropped_ = 0;
  }

  const size_t max_;
  std::string partial_;
  uint64_t dropped_ = 0;
};

}  // namespace mesh
