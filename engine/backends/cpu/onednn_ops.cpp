// oneDNN 2.x behind OneDnnOps.
// GEMM is dnnl_sgemm: row-major like our contract, alpha and beta for free. A matmul primitive
// was measured as well: equal without alpha/beta (154 vs 161 us for the dense layers' six
// products of one step at batch 64), slower with them (they push it off brgemm onto gemm:jit).
// Convolutions let the library choose the memory layout (format_tag::any): only then does it
// pick its vector kernels, which work on channel-blocked tensors (nChw16c on AVX-512, nChw8c on
// AVX2). The CPU backend keeps activations whose channels fill whole blocks in that layout already
// (activation_block, kernels/cpu/blocked.h),
// the rest (the input image, dense rows) in plain NCHW; each cached entry reorders only where
// the library's choice differs from that (weights, the 1-channel input; choose_layouts). Seed 000's
// convolutions at n = 64 on 2 AVX-512 cores, ms summed over the layers (fwd x3 / bwd-data x2 /
// bwd-weights x3), with reorders to and from plain NCHW: 1.17 / 0.88 / 1.19; on plain NCHW
// without reorders: 1.95 / 1.94 / 2.31; the exceptions are handled by choose_layouts().
// On nChw8c (AVX2), all three passes of 3x3 stride-1 convolutions over batches of 16 tiles or more
// run as Winograd F(4x4, 3x3) or F(3x3, 3x3) of ours (by_winograd). Other weight gradients of
// outputs of at most 3x3 positions skip the convolution primitive: an im2col of ours and one sgemm
// (weight_gradient_by_gemm).
// Primitives run through the C API with argument arrays bound once, so a call sets a few data
// handles and executes: no primitive creation and no allocation of ours after the first call
// but the Winograd weight gradient's buffers (kernels/cpu/conv_winograd.cpp, as the other
// hand-written kernels take theirs); libdnnl itself still mallocs a few bytes of bookkeeping per
// execution.
#include "engine/backends/cpu/onednn_ops.h"

#include "kernels/cpu/blocked.h"
#include "kernels/cpu/conv_columns.h"
#include "kernels/cpu/conv_winograd.h"

#include <fmt/format.h>

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace hdr {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

enum class ConvOp { kForward, kBackwardData, kBackwardWeights };

// Whether a layout the library chose is mostly padding: blocking by 16 stores the first layer's
// single input channel as 16, and its backward-data then does 16 times the work (0.97 ms
// blocked vs 0.22 ms plain at n = 64). Such operands stay plain. Milder padding still pays:
// c = 5, k = 7 runs 2-3x faster blocked (16/5 and 16/7 padded) than plain.
bool mostly_padding(const memory::desc& d) {
  int64_t stored = 1, used = 1;
  for (int i = 0; i < d.data.ndims; ++i) {
    stored *= d.data.padded_dims[i];
    used *= d.data.dims[i];
  }
  return stored > 4 * used;
}

// oneDNN's reference implementations ("ref:any") are plain loops for when no optimised kernel
// takes the layouts asked for: on AVX2 the first layer's backward-weights with a plain 1-channel
// input and a 16-channel-blocked gradient ran 390 ms per call at n = 64, 90% of a cnn_best step.
template <class Pd>
bool is_reference(const Pd& pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

// Which operands of a convolution the library lays out (format_tag::any); the others keep the
// engine's layout (activation_desc, oihw).
struct Layouts {
  bool src = true, weights = true, dst = true;
};

// The primitive descriptor for the first of: every operand in the library's layout; the same
// with the operands it would mostly pad in the engine's layout instead; every operand in the
// engine's layout. The first that is neither mostly padding nor reference code wins; failing
// that, the first that is not reference code; failing that, the first. build(Layouts) makes a
// descriptor, operands(pd) gives its (source, weights, destination) descriptors as chosen.
template <class Build, class Operands>
auto choose_layouts(Build build, Operands operands) {
  const auto padded = [&](const auto& pd) {  // source, weights, destination
    const auto [src, weights, dst] = operands(pd);
    return std::array<bool, 3>{mostly_padding(src), mostly_padding(weights), mostly_padding(dst)};
  };
  const auto good = [&](const auto& pd) {
    const auto p = padded(pd);
    return !p[0] && !p[1] && !p[2] && !is_reference(pd);
  };
  const auto all = build(Layouts{});
  if (good(all)) return all;
  const auto p = padded(all);
  const auto unpadded = build(Layouts{!p[0], !p[1], !p[2]});
  if (good(unpadded)) return unpadded;
  const auto engine = build(Layouts{false, false, false});
  if (good(engine)) return engine;
  for (const auto* pd : {&all, &unpadded, &engine})
    if (!is_reference(*pd)) return *pd;
  return all;
}

void check(dnnl_status_t status, const char* what) {
  if (status != dnnl_success) throw std::runtime_error(fmt::format("oneDNN {} failed (status {})", what, int(status)));
}

// A primitive with its argument array built once.
struct BoundPrimitive {
  dnnl::primitive primitive;
  memory scratchpad;
  std::vector<dnnl_exec_arg_t> args;

  BoundPrimitive(dnnl::primitive p, const dnnl::primitive_desc_base& pd, const dnnl::engine& engine,
                 std::vector<dnnl_exec_arg_t> bound)
      : primitive(std::move(p)), scratchpad(pd.scratchpad_desc(), engine), args(std::move(bound)) {
    args.push_back({DNNL_ARG_SCRATCHPAD, scratchpad.get()});
  }
  void run(const dnnl::stream& stream) const {
    check(dnnl_primitive_execute(primitive.get(), stream.get(), int(args.size()), args.data()), "execute");
  }
};

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// One tensor argument of a convolution: `user` wraps the caller's buffer in the engine's layout
// (its pointer is set per call); `inner` is what the primitive reads or writes: `user` itself
// when the chosen layout is the engine's, else a cached buffer in that layout with the reorder
// between the two (user -> inner for inputs, inner -> user for outputs).
struct Operand {
  memory user;
  memory inner;
  std::optional<BoundPrimitive> reorder;

  Operand(const dnnl::engine& engine, const memory::desc& engine_layout, const memory::desc& chosen, bool is_input)
      : user(engine_layout, engine, DNNL_MEMORY_NONE) {
    if (chosen == engine_layout) {
      inner = user;
      return;
    }
    inner = memory(chosen, engine);
    const memory& from = is_input ? user : inner;
    const memory& to = is_input ? inner : user;
    dnnl::reorder::primitive_desc pd(from, to, user_scratchpad());
    reorder.emplace(dnnl::reorder(pd), pd, engine,
                    std::vector<dnnl_exec_arg_t>{{DNNL_ARG_SRC, from.get()}, {DNNL_ARG_DST, to.get()}});
  }
};

struct ConvEntry {
  std::vector<Operand> inputs, outputs;  // in the order the op's pointers arrive
  std::optional<BoundPrimitive> conv;
  std::string implementation;  // oneDNN's name for the kernel it chose

  void run(dnnl::stream& stream, std::initializer_list<const float*> in, std::initializer_list<float*> out) {
    auto operand = inputs.begin();
    for (const float* p : in) {
      operand->user.set_data_handle(const_cast<float*>(p));  // oneDNN only reads inputs
      if (operand->reorder) operand->reorder->run(stream);
      ++operand;
    }
    operand = outputs.begin();
    for (float* p : out) (operand++)->user.set_data_handle(p);
    conv->run(stream);
    for (const Operand& o : outputs)
      if (o.reorder) o.reorder->run(stream);
    stream.wait();
  }
};

struct ConvKey {
  ConvOp op;
  bool bias;
  int n, c, h, w, k, kh, kw, pad_h, pad_w, stride;
  auto operator<=>(const ConvKey&) const = default;
};

ConvKey key_of(ConvOp op, const ConvGeometry& g, bool with_bias) {
  return {op, with_bias, g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.pad_h, g.pad_w, g.stride};
}

void check_geometry(const ConvGeometry& g) {
  if (g.n <= 0 || g.c <= 0 || g.k <= 0 || g.kh <= 0 || g.kw <= 0 || g.stride <= 0 || g.out_h() <= 0 || g.out_w() <= 0)
    throw std::invalid_argument(
        fmt::format("convolution: bad geometry n={} c={} h={} w={} k={} {}x{} pad {},{} stride {}", g.n, g.c, g.h, g.w,
                    g.k, g.kh, g.kw, g.pad_h, g.pad_w, g.stride));
}

// The FP32 vector width of the instructions oneDNN runs here, in floats (OneDnnOps::vector_lanes).
int isa_vector_lanes() {
  const auto has = [isa = unsigned(dnnl_get_effective_cpu_isa())](dnnl_cpu_isa_t bits) {
    return (isa & unsigned(bits)) == unsigned(bits);
  };
  return has(dnnl_cpu_isa_avx512_core) ? 16 : has(dnnl_cpu_isa_avx2) ? 8 : 4;
}

// The channel block of the activations (OneDnnOps::activation_block).
int isa_activation_block() { return isa_vector_lanes() >= 16 ? 16 : 8; }

// Channels per block of an activation as the CPU backend stores it: 1 where it stays plain NCHW.
int stored_block(int c, int64_t spatial) {
  const int block = isa_activation_block();
  return cpu::blocked::is_blocked(block, c, spatial) ? block : 1;
}

// The engine's layout of an activation: blocked where the CPU backend blocks it, else nchw.
memory::desc activation_desc(int n, int c, int h, int w) {
  switch (stored_block(c, int64_t(h) * w)) {
    case 1: return {{n, c, h, w}, kF32, Tag::nchw};
    case 8: return {{n, c, h, w}, kF32, Tag::nChw8c};
    default: return {{n, c, h, w}, kF32, Tag::nChw16c};
  }
}

// Whether the weight gradient runs as one GEMM (kernels/cpu/conv_columns.h) rather than through
// oneDNN's convolution: for outputs of at most 3x3 positions per image, where the library's direct
// kernels fall to 35-42% of the FP32 peak (bench/README.md). At 4x4 (cnn_best's conv6, 5x5 taps)
// the im2col matrix is already 6.5 MB and the GEMM route was 1.4x slower. Where Winograd takes the
// layer (by_winograd: seed 000's conv3 on AVX2), it goes first: 0.50-0.52 against 0.63 ms.
constexpr int64_t kGemmPositions = 9;
bool weight_gradient_by_gemm(const ConvGeometry& g) { return int64_t(g.out_h()) * g.out_w() <= kGemmPositions; }

// Whether the passes of convolution g run as Winograd F(m x m, 3x3) (kernels/cpu/conv_winograd.h) rather than through
// oneDNN: on nChw8c in and out (oneDNN 2.6 has Winograd for AVX-512 only), for batches of at least kWinogradTiles
// tiles. cnn_bn's conv2 (13x13 -> 11x11, F(4x4)) measured 0.77 against 1.46 ms forward, 0.78 against 1.49 ms for its
// input gradient and 0.75 against 1.86 ms for its weight gradient (bench/README.md, eighth pass); conv3 (5x5 -> 3x3,
// F(3x3)) 0.43 against 0.57, 0.43 against 0.57 and 0.52 against 0.63 ms (ninth pass). A single image is left to
// oneDNN: with conv3's one tile by Winograd it took 0.108-0.136 ms against 0.092-0.123 (checking the kept weight
// transform reads all 295 KB of weights), and conv2's 9 tiles were no faster than oneDNN (measured before 596fe98
// split them into 3 groups).
constexpr int64_t kWinogradTiles = 16;
bool by_winograd(const ConvGeometry& g) {
  return cpu::winograd::supports(g) && cpu::winograd::tile_count(g, cpu::winograd::output_tile(g)) >= kWinogradTiles &&
         stored_block(g.c, int64_t(g.h) * g.w) == 8 && stored_block(g.k, int64_t(g.out_h()) * g.out_w()) == 8;
}

// The descriptors of a geometry's tensors as the engine holds them, and the ones offered to the
// primitive.
struct ConvDescs {
  memory::desc src, weights, bias, dst;        // the engine's: activation_desc, oihw, x
  memory::desc src_any, weights_any, dst_any;  // the same, or format_tag::any (Layouts)
  memory::dims strides, padding;

  ConvDescs(const ConvGeometry& g, Layouts library)
      : src(activation_desc(g.n, g.c, g.h, g.w)),
        weights({g.k, g.c, g.kh, g.kw}, kF32, Tag::oihw),
        bias({g.k}, kF32, Tag::x),
        dst(activation_desc(g.n, g.k, g.out_h(), g.out_w())),
        src_any(library.src ? memory::desc(src.dims(), kF32, Tag::any) : src),
        weights_any(library.weights ? memory::desc(weights.dims(), kF32, Tag::any) : weights),
        dst_any(library.dst ? memory::desc(dst.dims(), kF32, Tag::any) : dst),
        strides{g.stride, g.stride},
        padding{g.pad_h, g.pad_w} {}

  // Symmetric padding; oneDNN's output-size rule floors like ConvGeometry's.
  dnnl::convolution_forward::desc forward(bool with_bias) const {
    const auto prop = dnnl::prop_kind::forward_training;
    const auto algo = dnnl::algorithm::convolution_direct;
    if (with_bias) return {prop, algo, src_any, weights_any, bias, dst_any, strides, padding, padding};
    return {prop, algo, src_any, weights_any, dst_any, strides, padding, padding};
  }
};

ConvEntry make_forward(const dnnl::engine& engine, const ConvGeometry& g, bool with_bias) {
  const auto pd = choose_layouts(
      [&](Layouts l) {
        return dnnl::convolution_forward::primitive_desc(ConvDescs(g, l).forward(with_bias), user_scratchpad(), engine);
      },
      [](const auto& p) { return std::tuple(p.src_desc(), p.weights_desc(), p.dst_desc()); });
  const ConvDescs d(g, Layouts{});
  ConvEntry e;
  e.inputs.emplace_back(engine, d.src, pd.src_desc(), true);
  e.inputs.emplace_back(engine, d.weights, pd.weights_desc(), true);
  if (with_bias) e.inputs.emplace_back(engine, d.bias, pd.bias_desc(), true);
  e.outputs.emplace_back(engine, d.dst, pd.dst_desc(), false);
  std::vector<dnnl_exec_arg_t> args{{DNNL_ARG_SRC, e.inputs[0].inner.get()},
                                    {DNNL_ARG_WEIGHTS, e.inputs[1].inner.get()},
                                    {DNNL_ARG_DST, e.outputs[0].inner.get()}};
  if (with_bias) args.push_back({DNNL_ARG_BIAS, e.inputs[2].inner.get()});
  e.implementation = pd.impl_info_str();
  e.conv.emplace(dnnl::convolution_forward(pd), pd, engine, std::move(args));
  return e;
}

ConvEntry make_backward_data(const dnnl::engine& engine, const ConvGeometry& g) {
  const auto pd = choose_layouts(
      [&](Layouts l) {
        const ConvDescs d(g, l);
        const dnnl::convolution_forward::primitive_desc hint(d.forward(false), engine);
        const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src_any, d.weights_any,
                                                         d.dst_any, d.strides, d.padding, d.padding);
        return dnnl::convolution_backward_data::primitive_desc(desc, user_scratchpad(), engine, hint);
      },
      [](const auto& p) { return std::tuple(p.diff_src_desc(), p.weights_desc(), p.diff_dst_desc()); });
  const ConvDescs d(g, Layouts{});
  ConvEntry e;
  e.inputs.emplace_back(engine, d.weights, pd.weights_desc(), true);
  e.inputs.emplace_back(engine, d.dst, pd.diff_dst_desc(), true);
  e.outputs.emplace_back(engine, d.src, pd.diff_src_desc(), false);
  e.implementation = pd.impl_info_str();
  e.conv.emplace(dnnl::convolution_backward_data(pd), pd, engine,
                 std::vector<dnnl_exec_arg_t>{{DNNL_ARG_WEIGHTS, e.inputs[0].inner.get()},
                                              {DNNL_ARG_DIFF_DST, e.inputs[1].inner.get()},
                                              {DNNL_ARG_DIFF_SRC, e.outputs[0].inner.get()}});
  return e;
}

ConvEntry make_backward_weights(const dnnl::engine& engine, const ConvGeometry& g, bool with_bias) {
  const auto pd = choose_layouts(
      [&](Layouts l) {
        const ConvDescs d(g, l);
        const dnnl::convolution_forward::primitive_desc hint(d.forward(with_bias), engine);
        const auto algo = dnnl::algorithm::convolution_direct;
        const auto desc = with_bias
                              ? dnnl::convolution_backward_weights::desc(algo, d.src_any, d.weights_any, d.bias,
                                                                         d.dst_any, d.strides, d.padding, d.padding)
                              : dnnl::convolution_backward_weights::desc(algo, d.src_any, d.weights_any, d.dst_any,
                                                                         d.strides, d.padding, d.padding);
        return dnnl::convolution_backward_weights::primitive_desc(desc, user_scratchpad(), engine, hint);
      },
      [](const auto& p) { return std::tuple(p.src_desc(), p.diff_weights_desc(), p.diff_dst_desc()); });
  const ConvDescs d(g, Layouts{});
  ConvEntry e;
  e.inputs.emplace_back(engine, d.src, pd.src_desc(), true);
  e.inputs.emplace_back(engine, d.dst, pd.diff_dst_desc(), true);
  e.outputs.emplace_back(engine, d.weights, pd.diff_weights_desc(), false);
  if (with_bias) e.outputs.emplace_back(engine, d.bias, pd.diff_bias_desc(), false);
  std::vector<dnnl_exec_arg_t> args{{DNNL_ARG_SRC, e.inputs[0].inner.get()},
                                    {DNNL_ARG_DIFF_DST, e.inputs[1].inner.get()},
                                    {DNNL_ARG_DIFF_WEIGHTS, e.outputs[0].inner.get()}};
  if (with_bias) args.push_back({DNNL_ARG_DIFF_BIAS, e.outputs[1].inner.get()});
  e.implementation = pd.impl_info_str();
  e.conv.emplace(dnnl::convolution_backward_weights(pd), pd, engine, std::move(args));
  return e;
}

}  // namespace

struct OneDnnOps::State {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<ConvKey, ConvEntry> convs;
  std::set<ConvKey> gemm_weight_gradients;          // geometries whose weight gradient ran as one GEMM
  std::vector<float> columns, gradient_rows, taps;  // its operands and result, grown, never shrunk
  // Per Winograd pass: the weights last transformed and their transform, redone only when the
  // weights change (every training step; never in inference).
  struct WinogradWeights {
    int tile = 0;  // the output tile m of F(m x m, 3x3)
    std::vector<float> source, transformed;
  };
  std::map<ConvKey, WinogradWeights> winograd;
  std::map<ConvKey, int> winograd_weight_gradients;  // geometries whose weight gradient ran by Winograd: m

  ConvEntry& entry(ConvOp op, const ConvGeometry& g, bool with_bias) {
    const ConvKey key = key_of(op, g, with_bias);
    auto it = convs.find(key);
    if (it != convs.end()) return it->second;
    check_geometry(g);
    switch (op) {
      case ConvOp::kForward: return convs.emplace(key, make_forward(engine, g, with_bias)).first->second;
      case ConvOp::kBackwardData: return convs.emplace(key, make_backward_data(engine, g)).first->second;
      case ConvOp::kBackwardWeights:
        return convs.emplace(key, make_backward_weights(engine, g, with_bias)).first->second;
    }
    throw std::logic_error("unknown convolution op");
  }
};

OneDnnOps::OneDnnOps() : state_(std::make_unique<State>()) {}
OneDnnOps::~OneDnnOps() = default;

std::string OneDnnOps::version() const {
  const dnnl_version_t* v = dnnl_version();
  return fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
}

int OneDnnOps::vector_lanes() { return isa_vector_lanes(); }

int OneDnnOps::activation_block() { return isa_activation_block(); }

void OneDnnOps::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, const float* b,
                     float beta, float* c) {
  check(dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, trans_a ? m : k, b, trans_b ? k : n,
                   beta, c, n),
        "sgemm");
}

void OneDnnOps::conv_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) {
  if (by_winograd(g)) return winograd(false, g, w, x, bias, y);
  ConvEntry& e = state_->entry(ConvOp::kForward, g, bias != nullptr);
  if (bias)
    e.run(state_->stream, {x, w, bias}, {y});
  else
    e.run(state_->stream, {x, w}, {y});
}

void OneDnnOps::conv_backward_data(const ConvGeometry& g, const float* w, const float* dy, float* dx) {
  if (by_winograd(g)) return winograd(true, g, w, dy, nullptr, dx);
  state_->entry(ConvOp::kBackwardData, g, false).run(state_->stream, {w, dy}, {dx});
}

void OneDnnOps::conv_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias) {
  if (by_winograd(g)) {
    check_geometry(g);
    const int tile = cpu::winograd::output_tile(g);
    state_->winograd_weight_gradients[key_of(ConvOp::kBackwardWeights, g, dbias != nullptr)] = tile;
    return cpu::winograd::backward_weights(g, tile, x, dy, dw, dbias);
  }
  if (weight_gradient_by_gemm(g)) return weight_gradient_gemm(g, x, dy, dw, dbias);
  ConvEntry& e = state_->entry(ConvOp::kBackwardWeights, g, dbias != nullptr);
  if (dbias)
    e.run(state_->stream, {x, dy}, {dw, dbias});
  else
    e.run(state_->stream, {x, dy}, {dw});
}

// dw = gradient_rows x columns, then from (i, j, c) to oihw order (kernels/cpu/conv_columns.h).
void OneDnnOps::weight_gradient_gemm(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias) {
  check_geometry(g);
  State& s = *state_;
  s.gemm_weight_gradients.insert(key_of(ConvOp::kBackwardWeights, g, dbias != nullptr));
  const int rows = g.n * g.out_h() * g.out_w(), width = g.kh * g.kw * g.c;
  s.columns.resize(size_t(cpu::conv_column_count(g)));
  s.gradient_rows.resize(size_t(g.k) * size_t(rows));
  s.taps.resize(size_t(g.k) * size_t(width));
  cpu::conv_columns(g, stored_block(g.c, int64_t(g.h) * g.w), x, s.columns.data());
  cpu::conv_gradient_rows(g, stored_block(g.k, int64_t(g.out_h()) * g.out_w()), dy, s.gradient_rows.data(), dbias);
  gemm(false, false, g.k, width, rows, 1.0f, s.gradient_rows.data(), s.columns.data(), 0.0f, s.taps.data());
  cpu::conv_weights_from_taps(g, s.taps.data(), dw);
}

// The forward or the input gradient of g as Winograd F(m x m, 3x3) (by_winograd): w's transform
// is kept and reused while w holds the same values.
void OneDnnOps::winograd(bool input_gradient, const ConvGeometry& g, const float* w, const float* x, const float* bias,
                         float* y) {
  check_geometry(g);
  const int tile = cpu::winograd::output_tile(g);
  const ConvOp op = input_gradient ? ConvOp::kBackwardData : ConvOp::kForward;
  State::WinogradWeights& t = state_->winograd[key_of(op, g, bias != nullptr)];
  const size_t count = size_t(g.k) * size_t(g.c) * 9;
  if (t.source.size() != count || std::memcmp(t.source.data(), w, count * sizeof(float)) != 0) {
    t.tile = tile;
    t.source.assign(w, w + count);
    t.transformed.resize(size_t(cpu::winograd::transformed_weight_count(g, tile)));
    cpu::winograd::transform_weights(g, tile, w, input_gradient, t.transformed.data());
  }
  if (input_gradient)
    cpu::winograd::backward_data(g, tile, t.transformed.data(), x, y);
  else
    cpu::winograd::forward(g, tile, t.transformed.data(), x, bias, y);
}

double OneDnnOps::winograd_multiply_adds(Op op, const ConvGeometry& g) {
  const bool pass = op == Op::conv_forward || op == Op::conv_backward_data || op == Op::conv_backward_weights;
  return pass && by_winograd(g) ? cpu::winograd::multiply_adds(g, cpu::winograd::output_tile(g)) : 0.0;
}

void OneDnnOps::prepare(const ConvGeometry& g, const ConvUse& use) {
  if (!by_winograd(g)) state_->entry(ConvOp::kForward, g, use.bias);
  if (use.backward && !weight_gradient_by_gemm(g) && !by_winograd(g))
    state_->entry(ConvOp::kBackwardWeights, g, use.bias);
  if (use.input_grad && !by_winograd(g)) state_->entry(ConvOp::kBackwardData, g, false);
}

size_t OneDnnOps::cached_primitives() const { return state_->convs.size(); }

std::vector<std::string> OneDnnOps::implementations() const {
  const auto line = [](const ConvKey& k, const std::string& implementation) {
    const char* op = k.op == ConvOp::kForward        ? "forward"
                     : k.op == ConvOp::kBackwardData ? "backward-data"
                                                     : "backward-weights";
    return fmt::format("{}{} n{} c{} {}x{} k{} {}x{} pad {},{} stride {}: {}", op, k.bias ? "+bias" : "", k.n, k.c, k.h,
                       k.w, k.k, k.kh, k.kw, k.pad_h, k.pad_w, k.stride, implementation);
  };
  std::vector<std::string> lines;
  for (const auto& [k, e] : state_->convs) lines.push_back(line(k, e.implementation));
  for (const ConvKey& k : state_->gemm_weight_gradients) lines.push_back(line(k, "im2col + sgemm"));
  const auto winograd = [](int tile) { return fmt::format("winograd F({0}x{0},3x3) (hdr)", tile); };
  for (const auto& [k, weights] : state_->winograd) lines.push_back(line(k, winograd(weights.tile)));
  for (const auto& [k, tile] : state_->winograd_weight_gradients) lines.push_back(line(k, winograd(tile)));
  return lines;
}

}  // namespace hdr
