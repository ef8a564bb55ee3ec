// Runs fn and checks that it throws hdr::InputError whose message holds every needle.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "engine/core/errors.h"

namespace hdr::test {

template <class Fn>
void expect_input_error(Fn fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    FAIL() << "no error thrown";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "message: " << msg << "\nmissing: " << n;
  }
}

}  // namespace hdr::test
