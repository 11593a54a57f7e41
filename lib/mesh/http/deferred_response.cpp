#include "mesh/http/deferred_response.h"

namespace mesh {

bool DeferredResponse::Complete(HttpResponse response) {
  // Delivered under the lock, so that Abandon() returning means no deliver is running.
  std::lock_guard lock(mu_);
  if (done_ || abandoned_) return false;
  done_ = true;
  if (deliver_) {
    deliver_(std::move(response));
    deliver_ = nullptr;
  } else {
    answer_ = std::move(response);
  }
  return true;
}

void DeferredResponse::Abandon() {
  std::lock_guard lock(mu_);
  abandoned_ = true;
  deliver_ = nullptr;
  answer_.reset();
}

bool DeferredResponse::abandoned() const {
  std::lock_guard lock(mu_);
  return abandoned_;
}

void DeferredResponse::OnComplete(std::function<void(HttpResponse)> deliver) {
  std::lock_guard lock(mu_);
  if (abandoned_) return;
  if (answer_) {
    deliver(std::move(*answer_));
    answer_.reset();
    return;
  }
  deliver_ = std::move(deliver);
}

}  // namespace mesh
