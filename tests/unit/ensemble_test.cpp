// Ensembles against numbers worked out by hand: the mean of members' probabilities, the
// ensemble's prediction, loss and confusion matrix (where the mean, not a majority vote, decides),
// the floor under a probability of 0, the refusal of models that do not fit together, and
// EnsemblePredictor on real networks that each keep their own normalisation.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/inference/ensemble.h"
#include "engine/io/config.h"
#include "engine/nn/model.h"
#include "tests/expect_input_error.h"
#include "tests/small_network.h"

namespace hdr {
namespace {

EvalResult member(int classes, std::vector<float> probabilities) {
  EvalResult r;
  r.classes = classes;
  r.count = int(probabilities.size()) / classes;
  r.probabilities = std::move(probabilities);
  return r;
}

TEST(MeanProbabilities, IsTheElementWiseMean) {
  const std::vector<float> a = {0.2f, 0.8f, 1.0f}, b = {0.6f, 0.4f, 0.0f}, c = {0.7f, 0.3f, 0.5f};
  const std::vector<float> mean = mean_probabilities({a, b, c});
  ASSERT_EQ(mean.size(), 3u);
  EXPECT_FLOAT_EQ(mean[0], 0.5f);
  EXPECT_FLOAT_EQ(mean[1], 0.5f);
  EXPECT_FLOAT_EQ(mean[2], 0.5f);
}

TEST(MeanProbabilities, OfIdenticalMembersIsTheMemberBitForBit) {
  const std::vector<float> p = {1.0f / 3, 0.1f, 0.7f, 1e-30f, 3e-45f};
  EXPECT_EQ(mean_probabilities({p, p, p}), p);
  EXPECT_EQ(mean_probabilities({p}), p);
}

TEST(MeanProbabilities, MembersOfDifferentSizesAreACallersMistake) {
  const std::vector<float> a = {0.5f, 0.5f}, b = {1.0f};
  EXPECT_THROW(mean_probabilities({a, b}), std::invalid_argument);
  EXPECT_THROW(mean_probabilities({}), std::invalid_argument);
}

// Three images (labels 0, 1, 2), three models, three classes. Means, worked out by hand:
//   image 0: A right, B right, C wrong -> (0.5, 0.4, 0.1): 0, right
//   image 1: A wrong, B right, C right -> (0.3, 0.6, 0.1): 1, right
//   image 2: A and C right but unsure, B confidently wrong
//            -> (0.65/3, 1.35/3, 1.0/3) = (0.2167, 0.45, 0.3333): 1, wrong, though two of
//            three members voted 2.
class ThreeModelEnsemble : public ::testing::Test {
 protected:
  const std::vector<uint8_t> labels = {0, 1, 2};
  const std::vector<EvalResult> members = {member(3, {0.7f, 0.2f, 0.1f, 0.6f, 0.3f, 0.1f, 0.3f, 0.2f, 0.5f}),
                                           member(3, {0.6f, 0.3f, 0.1f, 0.1f, 0.8f, 0.1f, 0.05f, 0.9f, 0.05f}),
                                           member(3, {0.2f, 0.7f, 0.1f, 0.2f, 0.7f, 0.1f, 0.3f, 0.25f, 0.45f})};
  const EvalResult r = ensemble_result(members, labels);
};

TEST_F(ThreeModelEnsemble, TheMeanDecidesNotTheMajority) {
  EXPECT_EQ(r.count, 3);
  EXPECT_EQ(r.classes, 3);
  EXPECT_DOUBLE_EQ(r.accuracy, 2.0 / 3);
  // rows: true label, columns: prediction
  EXPECT_EQ(r.confusion, (std::vector<int64_t>{1, 0, 0, 0, 1, 0, 0, 1, 0}));
}

TEST_F(ThreeModelEnsemble, LossIsTheMeanNegativeLogOfTheTrueClassMeanProbability) {
  // -(ln 0.5 + ln 0.6 + ln 1/3) / 3 = -ln(0.1) / 3 = ln(10) / 3 = 0.767528...
  EXPECT_NEAR(r.loss, std::log(10.0) / 3, 1e-6);
}

TEST_F(ThreeModelEnsemble, KeepsTheMeanProbabilitiesForReports) {
  const std::vector<float> expected = {0.5f, 0.4f, 0.1f, 0.3f, 0.6f, 0.1f, 0.65f / 3, 0.45f, 1.0f / 3};
  ASSERT_EQ(r.probabilities.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(r.probabilities[i], expected[i], 1e-7) << i;
}

TEST(EnsembleResult, AProbabilityOfZeroCountsAsFloatsSmallestAndTiesGoToTheFirstClass) {
  // Both members put all their mass on class 0 and nothing on the true class 1: the loss is
  // -log(2^-149) = 149 ln 2, finite. A tie (image 2) is predicted as the first class.
  const std::vector<uint8_t> labels = {1, 1};
  const std::vector<EvalResult> members = {member(2, {1.0f, 0.0f, 0.5f, 0.5f}), member(2, {1.0f, 0.0f, 0.5f, 0.5f})};
  const EvalResult r = ensemble_result(members, labels);
  EXPECT_NEAR(r.loss, (149 * std::log(2.0) + std::log(2.0)) / 2, 1e-9);  // images 1 and 2
  EXPECT_EQ(r.confusion, (std::vector<int64_t>{0, 0, 2, 0}));
  EXPECT_EQ(r.accuracy, 0.0);
}

TEST(EnsembleResult, MembersOfOtherImagesOrClassesAreACallersMistake) {
  const std::vector<uint8_t> two = {0, 1};
  EXPECT_THROW(ensemble_result(std::vector<EvalResult>{member(2, {1, 0, 0, 1}), member(2, {1, 0})}, two),
               std::invalid_argument);
  EXPECT_THROW(ensemble_result(std::vector<EvalResult>{member(2, {1, 0, 0, 1}), member(4, {1, 0, 0, 1})}, two),
               std::invalid_argument);
  EXPECT_THROW(ensemble_result(std::vector<EvalResult>{member(2, {1, 0, 0, 1})}, std::vector<uint8_t>{0, 2}),
               std::invalid_argument);
  EXPECT_THROW(ensemble_result({}, two), std::invalid_argument);
}

// A TrainedModel of the small network (tests/small_network.h) with fresh weights from `seed`.
TrainedModel small_model(const std::string& source, uint64_t seed, const std::vector<std::string>& overrides = {}) {
  TrainedModel t;
  t.source = source;
  t.config = parse_config(std::string(test::kSmallNetworkIni), source, overrides);
  const auto backend = make_cpu_backend(0);
  Model model(t.config.model, *backend, 1);
  model.initialize(seed);
  t.checkpoint.tensors = model.tensors();
  return t;
}

TEST(RequireSameTask, ModelsThatDifferInClassesOrInputAreRefusedNamingBothFiles) {
  const TrainedModel a = small_model("a.hdr", 1);
  TrainedModel b = a;
  b.source = "b.hdr";
  b.config.model.classes = 11;
  test::expect_input_error([&] { require_same_task(a, b); }, {"a.hdr", "b.hdr", "10 classes", "11 classes"});
  b = a;
  b.source = "c.hdr";
  b.config.model.input_h = b.config.model.input_w = 32;
  test::expect_input_error([&] { require_same_task(a, b); }, {"a.hdr", "c.hdr", "28x28x1", "32x32x1"});
  b = a;
  b.config.model.input_c = 3;
  test::expect_input_error([&] { require_same_task(a, b); }, {"28x28x1", "28x28x3"});
}

TEST(RequireSameTask, OtherNetworksAndNormalisationsFitTogether) {
  const TrainedModel a = small_model("a.hdr", 1);
  TrainedModel mlp;
  mlp.source = "mlp.hdr";
  mlp.config = load_config("configs/mlp.ini", {"data.mean=0.1307", "data.std=0.3081"});
  EXPECT_NO_THROW(require_same_task(a, mlp));
}

// Two networks with different weights and normalisations: the ensemble gives the mean of what
// each gives alone, its own normalisation applied.
TEST(EnsemblePredictorTest, PredictsTheMeanOfWhatEachMemberPredictsAlone) {
  const std::vector<TrainedModel> models = {small_model("a.hdr", 1),
                                            small_model("b.hdr", 2, {"data.mean=0.1307", "data.std=0.3081"})};
  const auto backend = make_cpu_backend(0);
  std::vector<float> images(3 * 784);
  for (size_t i = 0; i < images.size(); ++i) images[i] = float((i * 37) % 256) / 255.0f;
  Predictor alone_a(models[0], *backend, 2), alone_b(models[1], *backend, 2);
  const std::vector<float> a = alone_a.predict(images), b = alone_b.predict(images);
  ASSERT_NE(a, b);                                  // the members disagree, so the mean is a real test
  EnsemblePredictor ensemble(models, *backend, 2);  // batches of 2: three images take two
  EXPECT_EQ(ensemble.size(), 2);
  EXPECT_EQ(ensemble.classes(), 10);
  EXPECT_EQ(ensemble.input_size(), 784);
  const std::vector<float> p = ensemble.predict(images);
  ASSERT_EQ(p.size(), 30u);
  for (size_t i = 0; i < p.size(); ++i) EXPECT_FLOAT_EQ(p[i], (a[i] + b[i]) / 2) << i;
}

TEST(EnsemblePredictorTest, RefusesAModelWithOtherClasses) {
  const std::vector<TrainedModel> models = {small_model("a.hdr", 1),
                                            small_model("eleven.hdr", 2, {"model.classes=11", "layer.out.units=11"})};
  const auto backend = make_cpu_backend(0);
  test::expect_input_error([&] { EnsemblePredictor{models, *backend}; }, {"a.hdr", "eleven.hdr", "11 classes"});
}

}  // namespace
}  // namespace hdr
