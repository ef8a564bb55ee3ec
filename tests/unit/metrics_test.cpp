// The classification metrics against values worked out by hand (sklearn's definitions,
// zero_division=0), ROC AUC against pair counts done by hand, ties included.
#include "engine/inference/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace hdr {
namespace {

// 3 classes; class 2 is present twice but never predicted.
//            predicted 0  1  2
const std::vector<int64_t> kConfusion = {5, 1, 0,   // true 0: 6 images
                                         2, 3, 0,   // true 1: 5 images
                                         1, 1, 0};  // true 2: 2 images

TEST(ClassificationReport, PerClassValuesMatchHandComputation) {
  const ClassificationReport r = classification_report(kConfusion, 3);
  ASSERT_EQ(r.classes.size(), 3u);
  // Class 0: TP 5, predicted 8, present 6.
  EXPECT_DOUBLE_EQ(r.classes[0].precision, 5.0 / 8);
  EXPECT_DOUBLE_EQ(r.classes[0].recall, 5.0 / 6);
  EXPECT_NEAR(r.classes[0].f1, 10.0 / 14, 1e-12);  // 2TP / (2TP + FP + FN)
  EXPECT_EQ(r.classes[0].support, 6);
  // Class 1: TP 3, predicted 5, present 5.
  EXPECT_DOUBLE_EQ(r.classes[1].precision, 0.6);
  EXPECT_DOUBLE_EQ(r.classes[1].recall, 0.6);
  EXPECT_NEAR(r.classes[1].f1, 0.6, 1e-12);
  EXPECT_EQ(r.classes[1].support, 5);
}

TEST(ClassificationReport, ClassNeverPredictedScoresZeroNotNaN) {
  const ClassificationReport r = classification_report(kConfusion, 3);
  EXPECT_EQ(r.classes[2].precision, 0.0);
  EXPECT_EQ(r.classes[2].recall, 0.0);
  EXPECT_EQ(r.classes[2].f1, 0.0);
  EXPECT_EQ(r.classes[2].support, 2);
}

TEST(ClassificationReport, AveragesAndAccuracyMatchHandComputation) {
  const ClassificationReport r = classification_report(kConfusion, 3);
  EXPECT_EQ(r.total, 13);
  EXPECT_DOUBLE_EQ(r.accuracy, 8.0 / 13);
  EXPECT_NEAR(r.macro.precision, (0.625 + 0.6 + 0) / 3, 1e-12);
  EXPECT_NEAR(r.macro.recall, (5.0 / 6 + 0.6 + 0) / 3, 1e-12);
  EXPECT_NEAR(r.macro.f1, (10.0 / 14 + 0.6 + 0) / 3, 1e-12);
  EXPECT_NEAR(r.weighted.precision, (6 * 0.625 + 5 * 0.6) / 13, 1e-12);
  EXPECT_NEAR(r.weighted.recall, 8.0 / 13, 1e-12);  // weighted recall is always the accuracy
  EXPECT_NEAR(r.weighted.f1, (6 * 10.0 / 14 + 5 * 0.6) / 13, 1e-12);
}

TEST(ClassificationReport, EmptyMatrixIsAllZeros) {
  const ClassificationReport r = classification_report(std::vector<int64_t>(4, 0), 2);
  EXPECT_EQ(r.accuracy, 0.0);
  EXPECT_EQ(r.macro.f1, 0.0);
  EXPECT_EQ(r.weighted.precision, 0.0);
}

TEST(ClassificationReport, RejectsAMatrixOfTheWrongSize) {
  EXPECT_THROW(classification_report(std::vector<int64_t>(8, 1), 3), std::invalid_argument);
}

bool pos[] = {false, false, true, true};

TEST(RocAuc, TextbookCase) {
  // Positives 0.35, 0.8; negatives 0.1, 0.4: of the 4 pairs, 3 ordered right.
  const float scores[] = {0.1f, 0.4f, 0.35f, 0.8f};
  EXPECT_DOUBLE_EQ(roc_auc(scores, pos), 0.75);
}

TEST(RocAuc, TiesCountOneHalf) {
  // Positives 0.5, 0.9; negatives 0.5, 0.5: pairs (0.5, 0.5) x2 tie = 1, (0.9, 0.5) x2 = 2 -> 3/4.
  const float scores[] = {0.5f, 0.5f, 0.5f, 0.9f};
  const bool positive[] = {false, false, true, true};
  EXPECT_DOUBLE_EQ(roc_auc(scores, positive), 0.75);
  const float all_tied[] = {0.3f, 0.3f, 0.3f, 0.3f};
  EXPECT_DOUBLE_EQ(roc_auc(all_tied, positive), 0.5);
}

TEST(RocAuc, PerfectAndReversedRankings) {
  const float perfect[] = {0.1f, 0.2f, 0.8f, 0.9f};
  EXPECT_DOUBLE_EQ(roc_auc(perfect, pos), 1.0);
  const float reversed[] = {0.9f, 0.8f, 0.2f, 0.1f};
  EXPECT_DOUBLE_EQ(roc_auc(reversed, pos), 0.0);
}

TEST(RocAuc, UndefinedWithoutBothClasses) {
  const float scores[] = {0.1f, 0.2f};
  const bool none[] = {false, false};
  EXPECT_TRUE(std::isnan(roc_auc(scores, none)));
}

TEST(OneVsRestAuc, ScoresEachClassAgainstTheRest) {
  // 3 images, 2 classes; class 1's column: image 2 (label 1) 0.7, the others 0.2 and 0.9.
  const float probabilities[] = {0.8f, 0.2f,   // label 0
                                 0.1f, 0.9f,   // label 0
                                 0.3f, 0.7f};  // label 1
  const uint8_t labels[] = {0, 0, 1};
  const std::vector<double> auc = one_vs_rest_auc(probabilities, labels, 2);
  ASSERT_EQ(auc.size(), 2u);
  EXPECT_DOUBLE_EQ(auc[1], 0.5);  // 0.7 beats 0.2, loses to 0.9
  EXPECT_DOUBLE_EQ(auc[0], 0.5);  // positives 0.8, 0.1 against 0.3: one of two pairs
}

TEST(MostConfused, HighestOffDiagonalCountsFirstTiesInLabelOrder) {
  const std::vector<ConfusedPair> pairs = most_confused(kConfusion, 3, 3);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].true_label, 1);
  EXPECT_EQ(pairs[0].predicted, 0);
  EXPECT_EQ(pairs[0].count, 2);
  EXPECT_EQ(pairs[1].true_label, 0);
  EXPECT_EQ(pairs[1].predicted, 1);
  EXPECT_EQ(pairs[2].true_label, 2);
  EXPECT_EQ(pairs[2].predicted, 0);
  EXPECT_EQ(most_confused(kConfusion, 3, 10).size(), 4u);  // zero cells are never listed
}

}  // namespace
}  // namespace hdr
