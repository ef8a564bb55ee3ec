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
  void sum(float* values, size_t count, float weight) override { through_host(values, count, weight, floats_); }
  void average(float* values, size_t count) override { sum(values, count, 1.0f / float(communicator_.size())); }
  void sum_now(double* values, size_t count) override { through_host(values, count, 1.0, doubles_); }

 private:
  // Download, scale, sum over the ranks, upload.
  template <class T>
  void through_host(T* values, size_t count, T weight, std::vector<T>& host) {
    host.resize(count);
    backend_.download(host.data(), values, count * sizeof(T));
    for (T& v : host) v *= weight;
    communicator_.sum(host.data(), count);
    backend_.upload(values, host.data(), count * sizeof(T));
  }

  Backend& backend_;
  Communicator& communicator_;
  std::vector<float> floats_;
  std::vector<double> doubles_;
};

}  // namespace

std::unique_ptr<GradientExchange> make_host_exchange(Backend& backend, Communicator& communicator) {
  return std::make_unique<HostExchange>(backend, communicator);
}

}  // namespace hdr
