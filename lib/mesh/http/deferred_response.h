// DeferredResponse: an answer a handler gives later (a long-poll parked until something
// changes). The handler returns an HttpResponse whose `deferred` is set; AsioHttpServer then holds
// the connection, and no handler thread, until some other thread calls Complete(). Whichever
// comes first ends it: Complete() (the answer is written), or Abandon() (the client left, or the
// server stops: nothing is written and later Complete() calls do nothing). The party that parked it
// (a notifier) checks abandoned() to free its slot. Thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <optional>

#include "mesh/http/http_message.h"

namespace mesh {

class DeferredResponse {
 public:
  // The first Complete wins; true when this call completed it.
  bool Complete(HttpResponse response);
  // Nothing will be written any more; a pending deliver is dropped.
  void Abandon();
  bool abandoned() const;

  // Server side: `deliver` gets the answer once, on the completing thread (at once if already
  // completed); never after Abandon() has returned.
  void OnComplete(std::function<void(HttpResponse)> deliver);

 private:
  mutable std::mutex mu_;
  std::function<void(HttpResponse)> deliver_;
  std::optional<HttpResponse> answer_;  // completed before the server asked for it
  bool done_ = false;
  bool abandoned_ = false;
};

}  // namespace mesh
