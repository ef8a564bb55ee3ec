#include "engine/distributed/gradient_exchange.h"

#include <vector>

#include "engine/backends/backend.h"
#include "engine/distributed/communicator.h"

namespace hdr {
namespace {

// One copy each way of the values per call (about 1 MB a step for cnn_bn's gradients).
// The device's copies wait for its work; the communicator's sum is under the collective watchdog.
class HostExchange final : public GradientExchange {
 public:
  HostExchange(Backend& backend, Communicator& communicator) : backend_(backend), communicator_(communicator) {}
  std::string describe() const override { return "gradients summed through the host by the communicator"; }
  void sum(float* values, size_t count, float weight) override {
    host_.resize(count);
    backend_.download(host_.data(), values, count * sizeof(float));
    for (float& v : host_) v *= weight;
    communicator_.sum(host_.data(), count);
    backend_.upload(values, host_.data(), count * sizeof(float));
  }
  void average(float* values, size_t count) override { sum(values, count, 1.0f / float(communicator_.size())); }
  void sum_now(double* values, size_t count) override {
    doubles_.resize(count);
    backend_.download(doubles_.data(), values, count * sizeof(double));
    communicator_.sum(doubles_.data(), count);
    backend_.upload(values, doubles_.data(), count * sizeof(double));
  }

 private:
  Backend& backend_;
  Communicator& communicator_;
  std::vector<float> host_;
  std::vector<double> doubles_;
};

}  // namespace

std::unique_ptr<GradientExchange> make_host_exchange(Backend& backend, Communicator& communicator) {
  return std::make_unique<HostExchange>(backend, communicator);
}

}  // namespace hdr
