// An owning array in a backend's memory: allocated once (set-up time), freed with its owner.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "engine/backends/backend.h"

namespace hdr {

template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(Backend& backend, size_t count) : backend_(&backend), count_(count) {
    if (count) data_ = static_cast<T*>(backend.allocate(count * sizeof(T)));
  }
  ~DeviceArray() { reset(); }
  DeviceArray(DeviceArray&& o) noexcept { *this = std::move(o); }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    if (this != &o) {
      reset();
      backend_ = std::exchange(o.backend_, nullptr);
      data_ = std::exchange(o.data_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return count_; }

  void upload(const T* host, size_t count, size_t offset = 0) {
    if (count) backend_->upload(data_ + offset, host, count * sizeof(T));
  }
  void upload(const std::vector<T>& host) { upload(host.data(), host.size()); }
  void download(T* host, size_t count, size_t offset = 0) const {
    if (count) backend_->download(host, data_ + offset, count * sizeof(T));
  }
  std::vector<T> to_host() const {
    std::vector<T> out(count_);
    download(out.data(), count_);
    return out;
  }
  void zero() {
    if (count_) backend_->fill_zero(data_, count_ * sizeof(T));
  }

 private:
  void reset() {
    if (data_) backend_->deallocate(data_);
    data_ = nullptr;
    count_ = 0;
  }
  Backend* backend_ = nullptr;
  T* data_ = nullptr;
  size_t count_ = 0;
};

}  // namespace hdr
