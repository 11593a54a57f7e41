// The store sink, apart from logger.cpp so that a program that logs links SQLite only when it
// makes one.
#include "mesh/log_batch_writer.h"
#include "mesh/log_store.h"
#include "mesh/logger.h"
#include "mesh/store.h"

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
