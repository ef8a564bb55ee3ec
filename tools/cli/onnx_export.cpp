#include "tools/cli/onnx_export.h"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <stdexcept>

#include "engine/backends/build_info.h"
#include "engine/core/errors.h"
#include "engine/io/checkpoint.h"

namespace hdr::cli {
namespace {

// Opset 13 (ONNX 1.8, 2020): what ONNX Runtime, TensorRT and OpenVINO all read, and where Softmax
// takes one axis, as the engine applies it.
constexpr int kOpset = 13;

// Adds initializers and nodes to one graph; callers prefix the names per member ("m0/") so that
// an ensemble's members do not collide.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  // A float initializer of `shape` holding `values`; returns its name.
  std::string constant(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values) {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (const int64_t d : shape) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return name;
  }

  std::string int64_constant(const std::string& name, const std::vector<int64_t>& values) {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(int64_t(values.size()));
    for (const int64_t v : values) t->add_int64_data(v);
    return name;
  }

  // A node `op` of `inputs` with one output named `output`; returns the node for attributes.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
    onnx::NodeProto* n = graph_.add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(output);
    return *n;
  }

  static void ints(onnx::NodeProto& n, const char* name, const std::vector<int64_t>& values) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (const int64_t v : values) a->add_ints(v);
  }
  static void integer(onnx::NodeProto& n, const char* name, int64_t value) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void real(onnx::NodeProto& n, const char* name, float value) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }

 private:
  onnx::GraphProto& graph_;
};

// A trained tensor by its checkpoint name ("conv1.kernel").
const NamedTensor& tensor(const TrainedModel& m, const std::string& name) {
  const NamedTensor* t = find_tensor(m.checkpoint, name);
  if (t == nullptr) throw InputError(fmt::format("{}: tensor '{}' is missing", m.source, name));
  return *t;
}

// The ReLU of a layer whose activation asks for one (softmax is the graph's last op, as the
// engine applies it after the logits).
std::string activated(GraphBuilder& g, const LayerSpec& l, const std::string& x) {
  if (l.activation != Activation::kRelu) return x;
  g.node("Relu", {x}, x + "/relu");
  return x + "/relu";
}

// One member's graph from `image` (uint8 [N, h, w]) to its probabilities, named `output`.
void add_member(GraphBuilder& g, const TrainedModel& m, const std::string& p, const std::string& output) {
  const ModelSpec& spec = m.config.model;
  const DataSpec& data = m.config.data;
  // What training does to a byte: x / 255, then (x - mean) / std.
  GraphBuilder::integer(g.node("Cast", {"image"}, p + "pixels"), "to", onnx::TensorProto::FLOAT);
  g.node("Div", {p + "pixels", g.constant(p + "255", {}, {255.0f})}, p + "scaled");
  g.node("Sub", {p + "scaled", g.constant(p + "mean", {}, {data.mean})}, p + "centred");
  g.node("Mul", {p + "centred", g.constant(p + "inv_std", {}, {1.0f / data.std})}, p + "normalised");
  g.node("Reshape",
         {p + "normalised", g.int64_constant(p + "input_shape", {-1, spec.input_c, spec.input_h, spec.input_w})},
         p + "input");
  std::string x = p + "input";
  bool flat = false;
  for (const LayerSpec& l : spec.layers) {
    const std::string out = p + l.name;
    auto weights = [&](const char* what) {
      const NamedTensor& t = tensor(m, l.name + "." + what);
      return g.constant(out + "." + what, t.shape, t.data);
    };
    switch (l.type) {
      case LayerType::kConv2D: {
        onnx::NodeProto& n = g.node("Conv", {x, weights("kernel"), weights("bias")}, out);
        const int64_t pad = l.same_padding ? (l.kernel - 1) / 2 : 0;
        GraphBuilder::ints(n, "kernel_shape", {l.kernel, l.kernel});
        GraphBuilder::ints(n, "strides", {l.stride, l.stride});
        GraphBuilder::ints(n, "pads", {pad, pad, pad, pad});
        x = activated(g, l, out);
        break;
      }
      case LayerType::kBatchNorm: {
        onnx::NodeProto& n = g.node(
            "BatchNormalization",
            {x, weights("gamma"), weights("beta"), weights("moving_mean"), weights("moving_variance")}, out);
        GraphBuilder::real(n, "epsilon", l.eps);
        x = activated(g, l, out);
        break;
      }
      case LayerType::kMaxPool: {
        onnx::NodeProto& n = g.node("MaxPool", {x}, out);
        const int64_t stride = l.pool_stride > 0 ? l.pool_stride : l.pool;
        GraphBuilder::ints(n, "kernel_shape", {l.pool, l.pool});
        GraphBuilder::ints(n, "strides", {stride, stride});
        x = out;
        break;
      }
      case LayerType::kDense:
        if (!flat) {  // a dense layer reads its input's C x H x W values as one vector
          GraphBuilder::integer(g.node("Flatten", {x}, out + "/flat"), "axis", 1);
          x = out + "/flat";
          flat = true;
        }
        g.node("Gemm", {x, weights("kernel"), weights("bias")}, out);
        x = activated(g, l, out);
        break;
      case LayerType::kFlatten:
        GraphBuilder::integer(g.node("Flatten", {x}, out), "axis", 1);
        x = out;
        flat = true;
        break;
      case LayerType::kRelu:
        g.node("Relu", {x}, out);
        x = out;
        break;
      case LayerType::kDropout: break;  // identity at inference
    }
  }
  GraphBuilder::integer(g.node("Softmax", {x}, output), "axis", 1);
}

void add_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* entry = model.add_metadata_props();
  entry->set_key(key);
  entry->set_value(value);
}

void tensor_value(onnx::ValueInfoProto& v, const std::string& name, int type, const std::vector<int64_t>& dims) {
  v.set_name(name);
  onnx::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(type);
  t->mutable_shape()->add_dim()->set_dim_param("N");
  for (const int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

}  // namespace

std::string onnx_model_bytes(const std::vector<TrainedModel>& members) {
  if (members.empty()) throw std::invalid_argument("onnx_model_bytes: no model");
  const ModelSpec& first = members.front().config.model;
  for (const TrainedModel& m : members) {
    const ModelSpec& s = m.config.model;
    if (s.input_c != 1)
      throw InputError(fmt::format("{}: only single-channel images can be exported; the model's input has {} channels",
                                   m.source, s.input_c));
    if (s.input_h != first.input_h || s.input_w != first.input_w || s.classes != first.classes)
      throw InputError(fmt::format("{}: an ensemble's models must share their input size and classes ({}x{}, {})",
                                   m.source, first.input_h, first.input_w, first.classes));
  }
  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.set_producer_name("hdr");
  model.set_producer_version(HDR_VERSION);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(members.size() == 1 ? first.name : fmt::format("ensemble of {} models", members.size()));
  graph.set_doc_string(
      "image: uint8 [N, H, W], a white digit on black, centred as in MNIST, values 0-255. probabilities: "
      "float [N, classes], each row summing to 1.");
  tensor_value(*graph.add_input(), "image", onnx::TensorProto::UINT8, {first.input_h, first.input_w});
  tensor_value(*graph.add_output(), "probabilities", onnx::TensorProto::FLOAT, {first.classes});

  GraphBuilder g(graph);
  add_metadata(model, "hdr_version", HDR_VERSION);
  if (members.size() == 1) {
    add_member(g, members.front(), "", "probabilities");
  } else {
    std::vector<std::string> outputs;
    for (size_t i = 0; i < members.size(); ++i) {
      outputs.push_back(fmt::format("m{}/probabilities", i));
      add_member(g, members[i], fmt::format("m{}/", i), outputs.back());
    }
    g.node("Mean", outputs, "probabilities");
  }
  for (size_t i = 0; i < members.size(); ++i) {
    const TrainedModel& m = members[i];
    const std::string key = members.size() == 1 ? "" : fmt::format("member{}.", i);
    add_metadata(model, key + "model", m.config.model.name);
    add_metadata(model, key + "config", m.checkpoint.config_text);
    if (m.metadata.test) add_metadata(model, key + "test_accuracy", fmt::format("{:.6f}", m.metadata.test->accuracy));
  }
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw std::logic_error(fmt::format("the exported graph failed ONNX's checker: {}", e.what()));
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw std::runtime_error("the ONNX model could not be serialised");
  return bytes;
}

}  // namespace hdr::cli
