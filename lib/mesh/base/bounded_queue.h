// BoundedQueue: a fixed-capacity multi-producer multi-consumer queue without locks (Dmitry
// Vyukov's bounded MPMC ring: one sequence number per cell, producers and consumers each claim
// a position with a compare-and-swap). What the proxy's I/O threads push telemetry records into:
// a push never blocks and never allocates; when the queue is full it fails, and the caller
// counts a drop instead of slowing the request down. Thread-safe. The values' storage is only
// written when used: an idle queue costs its sequence numbers, not capacity × sizeof(T) of memory.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

namespace mesh {

template <typename T>
class BoundedQueue {
 public:
  // The capacity is rounded up to a power of two (at least 2).
  explicit BoundedQueue(size_t capacity) {
    size_t n = 2;
    while (n < capacity) n <<= 1;
    mask_ = n - 1;
    sequences_ = std::make_unique<std::atomic<size_t>[]>(n);
    for (size_t i = 0; i < n; ++i) sequences_[i].store(i, std::memory_order_relaxed);
    values_ = std::allocator<T>().allocate(n);
  }
  // Without producers or consumers left: destroys what was never popped.
  ~BoundedQueue() {
    while (TryPop()) {
    }
    std::allocator<T>().deallocate(values_, mask_ + 1);
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  size_t capacity() const { return mask_ + 1; }
  // How many values wait, for a gauge: exact when no push or pop runs at once, otherwise a
  // figure between the sizes before and after them (never above capacity).
  size_t SizeApprox() const {
    const size_t head = head_.load(std::memory_order_relaxed);
    const size_t tail = tail_.load(std::memory_order_relaxed);
    return tail > head ? std::min(tail - head, capacity()) : 0;
  }

  // false when full (the value is not moved from).
  bool TryPush(T&& value) {
    size_t pos = tail_.load(std::memory_order_relaxed);
    while (true) {
      std::atomic<size_t>& sequence = sequences_[pos & mask_];
      const size_t seq = sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          std::construct_at(&values_[pos & mask_], std::move(value));
          sequence.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // the cell still holds an unconsumed value: full
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  std::optional<T> TryPop() {
    size_t pos = head_.load(std::memory_order_relaxed);
    while (true) {
      std::atomic<size_t>& sequence = sequences_[pos & mask_];
      const size_t seq = sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1);
      if (diff == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          T& value = values_[pos & mask_];
          std::optional<T> out(std::move(value));
          std::destroy_at(&value);
          sequence.store(pos + mask_ + 1, std::memory_order_release);
          return out;
        }
      } else if (diff < 0) {
        return std::nullopt;  // empty
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

 private:
  // Producers and consumers on separate cache lines.
  alignas(64) std::atomic<size_t> tail_{0};
  alignas(64) std::atomic<size_t> head_{0};
  std::unique_ptr<std::atomic<size_t>[]> sequences_;
  T* values_ = nullptr;  // constructed at push, destroyed at pop
  size_t mask_ = 0;
};

}  // namespace mesh
