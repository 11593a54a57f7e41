#include "mesh/otlp_proto/remote_write_proto.h"

#include <snappy.h>

#include <algorithm>
#include <map>

#include <prometheus/remote.pb.h>

namespace mesh {

std::vector<std::pair<std::string, std::string>> RemoteWriteHeaders() {
  return {{"Content-Encoding", "snappy"},
          {"Content-Type", "application/x-protobuf"},
          {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
}

std::string EncodeRemoteWriteRequest(const std::vector<MetricSample>& samples) {
  prometheus::WriteRequest request;
  std::map<std::string, prometheus::TimeSeries*> series;
  for (const MetricSample& s : samples) {
    prometheus::TimeSeries*& ts = series[s.name + LabelsText(s.labels)];
    if (ts == nullptr) {
      ts = request.add_timeseries();
      Labels labels = s.labels;
      labels.emplace_back("__name__", s.name);
      std::sort(labels.begin(), labels.end());
      for (const auto& [name, value] : labels) {
        prometheus::Label* label = ts->add_labels();
        label->set_name(name);
        label->set_value(value);
      }
    }
    prometheus::Sample* sample = ts->add_samples();
    sample->set_value(s.value);
    sample->set_timestamp(s.timestamp_ms.value_or(0));
  }
  std::string compressed;
  snappy::Compress(request.SerializeAsString().data(), request.ByteSizeLong(), &compressed);
  return compressed;
}

Result<std::vector<MetricSample>> DecodeRemoteWriteRequest(std::string_view body, size_t max_bytes) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &length)) {
    return Status::InvalidArgument("remote write: the body is not snappy-compressed");
  }
  if (length > max_bytes) {
    return Status::InvalidArgument("remote write: the body inflates to " + std::to_string(length) +
                                   " bytes, more than " + std::to_string(max_bytes));
  }
  std::string raw;
  if (!snappy::Uncompress(body.data(), body.size(), &raw)) {
    return Status::InvalidArgument("remote write: the snappy block is corrupt");
  }
  prometheus::WriteRequest request;
  if (!request.ParseFromString(raw)) return Status::InvalidArgument("remote write: not a WriteRequest");
  std::vector<MetricSample> samples;
  for (const prometheus::TimeSeries& ts : request.timeseries()) {
    MetricSample proto_sample;
    for (const prometheus::Label& label : ts.labels()) {
      if (label.name() == "__name__") proto_sample.name = label.value();
      else proto_sample.labels.emplace_back(label.name(), label.value());
    }
    std::sort(proto_sample.labels.begin(), proto_sample.labels.end());
    for (const prometheus::Sample& s : ts.samples()) {
      MetricSample sample = proto_sample;
      sample.value = s.value();
      sample.timestamp_ms = s.timestamp();
      samples.push_back(std::move(sample));
    }
  }
  return samples;
}

}  // namespace mesh
