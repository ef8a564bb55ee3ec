// What Backend provides: the fused ops as their parts, through the caller's scratch (for a
// backend that does not fuse a geometry); op timing by the host clock; gradients summed over
// ranks through the host.
#include "engine/backends/backend.h"

#include "engine/distributed/gradient_exchange.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>
#include <vector>

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

int64_t Backend::count_non_finite(const float* values, size_t count) {
  std::vector<float> host(count);
  download(host.data(), values, count * sizeof(float));
  return int64_t(std::count_if(host.begin(), host.end(), [](float x) { return !std::isfinite(x); }));
}

std::unique_ptr<GradientExchange> Backend::make_gradient_exchange(Communicator& communicator) {
  return make_host_exchange(*this, communicator);
}

void Backend::bn_relu_maxpool_forward_train_in_parts(const BnReluMaxpoolForwardTrainArgs& a) {
  bn_relu_forward_train({.g = a.bn,
                         .layout = a.layout,
                         .x = a.x,
                         .gamma = a.gamma,
                         .beta = a.beta,
                         .running_mean = a.running_mean,
                         .running_var = a.running_var,
                         .save_mean = a.save_mean,
                         .save_inv_std = a.save_inv_std,
                         .y = a.bn_out});
  maxpool_forward({.g = a.pool, .layout = a.layout, .x = a.bn_out, .y = a.y, .argmax = a.argmax});
}

void Backend::bn_relu_maxpool_forward_infer_in_parts(const BnReluMaxpoolForwardInferArgs& a) {
  bn_relu_forward_infer({.g = a.bn,
                         .layout = a.layout,
                         .x = a.x,
                         .gamma = a.gamma,
                         .beta = a.beta,
                         .running_mean = a.running_mean,
                         .running_var = a.running_var,
                         .y = a.bn_out});
  maxpool_forward({.g = a.pool, .layout = a.layout, .x = a.bn_out, .y = a.y, .argmax = a.argmax});
}

void Backend::bn_relu_maxpool_backward_in_parts(const BnReluMaxpoolBackwardArgs& a) {
  maxpool_backward({.g = a.pool, .layout = a.layout, .dy = a.dy, .argmax = a.argmax, .dx = a.d_bn_out});
  bn_relu_backward({.g = a.bn,
                    .layout = a.layout,
                    .x = a.x,
                    .dy = a.d_bn_out,
                    .gamma = a.gamma,
                    .beta = a.beta,
                    .save_mean = a.save_mean,
                    .save_inv_std = a.save_inv_std,
                    .dx = a.dx,
                    .dgamma = a.dgamma,
                    .dbeta = a.dbeta});
}

void Backend::conv_bn_relu_maxpool_backward_in_parts(const ConvBnReluMaxpoolBackwardArgs& a) {
  bn_relu_maxpool_backward(a.block);
  conv_backward_weights(a.conv);
}

void Backend::conv_bn_relu_maxpool_forward_infer_in_parts(const ConvBnReluMaxpoolForwardInferArgs& a) {
  conv_forward(a.conv);
  bn_relu_maxpool_forward_infer(a.block);
}

}  // namespace hdr
