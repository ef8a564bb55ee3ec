// The Backend ops with a default: fused ops run as their parts, through the caller's scratch;
// op timing by the host clock; gradients summed over ranks through the host.
#include "engine/backends/backend.h"

#include "engine/distributed/gradient_exchange.h"

#include <chrono>
#include <utility>

namespace hdr {
namespace {

class HostClockTimer final : public OpTimer {
 public:
  explicit HostClockTimer(Backend& backend) : backend_(backend) {}
  void start() override {
    backend_.synchronize();
    start_ = Clock::now();
  }
  void stop() override {
    backend_.synchronize();
    seconds_.push_back(std::chrono::duration<double>(Clock::now() - start_).count());
  }
  std::vector<double> collect() override { return std::exchange(seconds_, {}); }

 private:
  using Clock = std::chrono::steady_clock;
  Backend& backend_;
  Clock::time_point start_;
  std::vector<double> seconds_;
};

}  // namespace

std::unique_ptr<OpTimer> Backend::make_op_timer() { return std::make_unique<HostClockTimer>(*this); }

std::unique_ptr<GradientExchange> Backend::make_gradient_exchange(Communicator& communicator) {
  return make_host_exchange(*this, communicator);
}

void Backend::bn_relu_maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                            const float* gamma, const float* beta, float* running_mean,
                                            float* running_var, float* save_mean, float* save_inv_std, float* bn_out,
                                            float* y, int32_t* argmax) {
  bn_relu_forward_train(g, x, gamma, beta, running_mean, running_var, save_mean, save_inv_std, bn_out);
  maxpool_forward(p, bn_out, y, argmax);
}

void Backend::bn_relu_maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                            const float* gamma, const float* beta, const float* running_mean,
                                            const float* running_var, float* bn_out, float* y, int32_t* argmax) {
  bn_relu_forward_infer(g, x, gamma, beta, running_mean, running_var, bn_out);
  maxpool_forward(p, bn_out, y, argmax);
}

void Backend::bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                       const float* dy, const int32_t* argmax, const float* gamma, const float* beta,
                                       const float* save_mean, const float* save_inv_std, float* d_bn_out, float* dx,
                                       float* dgamma, float* dbeta) {
  maxpool_backward(p, dy, argmax, d_bn_out);
  bn_relu_backward(g, x, d_bn_out, gamma, beta, save_mean, save_inv_std, dx, dgamma, dbeta);
}

}  // namespace hdr
