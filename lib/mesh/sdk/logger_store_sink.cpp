// The store sink, apart from logger.cpp so that a program that logs links SQLite only when it
// makes one.
#include "mesh/sdk/log_sinks.h"
#include "mesh/store/log_batch_writer.h"
#include "mesh/store/log_store.h"
#include "mesh/store/store.h"
#include "mesh/telemetry/logger.h"

namespace mesh {
namespace {

class StoreSink : public LogSink {
 public:
  StoreSink(std::unique_ptr<Store> store)
      : store_(std::move(store)), logs_(*store_), writer_(logs_, LogBatchWriter::Options{}) {}
  ~StoreSink() override { writer_.Close(); }
  void Write(const LogRecord& record) override {
    if (!writer_.Append(record).ok()) CountFailure();
  }
  void Flush() override { writer_.Flush(); }

 private:
  std::unique_ptr<Store> store_;
  LogStore logs_;
  LogBatchWriter writer_;
};

}  // namespace

Result<std::shared_ptr<LogSink>> MakeStoreSink(const std::string& db_path) {
  Result<std::unique_ptr<Store>> store = Store::Open({.path = db_path});
  if (!store.ok()) return store.status();
  return std::shared_ptr<LogSink>(std::make_shared<StoreSink>(std::move(store).value()));
}

}  // namespace mesh
