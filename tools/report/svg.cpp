#include "tools/report/svg.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace hdr::report {
namespace {

std::string stroke_attributes(const Stroke& s) {
  std::string out = fmt::format(R"( stroke="{}" stroke-width="{:.1f}")", xml_escape(s.color), s.width);
  if (!s.dash.empty()) out += fmt::format(R"( stroke-dasharray="{}")", xml_escape(s.dash));
  return out;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  return out;
}

std::string base64(std::span<const uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  if (bytes.size() > size_t(1) << 30) throw std::length_error("base64: input over 1 GiB");
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), int(bytes.size()));
  out.resize(size_t(written));
  return out;
}

Svg::Svg(double width, double height, std::string_view title) : width_(width), height_(height) {
  out_ = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0:.0f}" height="{1:.0f}" viewBox="0 0 {0:.0f} {1:.0f}" )"
      R"(font-family="Helvetica, Arial, sans-serif" role="img">)"
      "\n<title>{2}</title>\n",
      width, height, xml_escape(title));
  rect(0, 0, width, height, "#fff");
}

void Svg::rect(double x, double y, double w, double h, std::string_view fill, const Stroke* stroke) {
  out_ += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"{}/>)", x, y, w, h,
                      xml_escape(fill), stroke ? stroke_attributes(*stroke) : "");
  out_ += '\n';
}

void Svg::line(double x1, double y1, double x2, double y2, const Stroke& stroke) {
  out_ += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"{}/>)", x1, y1, x2, y2,
                      stroke_attributes(stroke));
  out_ += '\n';
}

void Svg::polyline(const Points& points, const Stroke& stroke) {
  std::string coordinates;
  for (const auto& [x, y] : points) coordinates += fmt::format("{}{:.1f},{:.1f}", coordinates.empty() ? "" : " ", x, y);
  out_ += fmt::format(R"(<polyline fill="none" stroke-linejoin="round" points="{}"{}/>)", coordinates,
                      stroke_attributes(stroke));
  out_ += '\n';
}

void Svg::circle(double cx, double cy, double r, std::string_view fill) {
  out_ += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="{:.1f}" fill="{}"/>)", cx, cy, r, xml_escape(fill));
  out_ += '\n';
}

void Svg::text(double x, double y, std::string_view text, const TextStyle& style) {
  std::string transform;
  if (style.rotate != 0) transform = fmt::format(" transform=\"rotate({:.0f} {:.1f} {:.1f})\"", style.rotate, x, y);
  out_ += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="{:.1f}" text-anchor="{}" fill="{}"{}{}>{}</text>)", x,
                      y, style.size, style.anchor, xml_escape(style.fill), style.bold ? R"( font-weight="bold")" : "",
                      transform, xml_escape(text));
  out_ += '\n';
}

void Svg::png(double x, double y, double w, double h, std::span<const uint8_t> png_bytes) {
  out_ += fmt::format(
      R"(<image x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" style="image-rendering:pixelated" )"
      R"(href="data:image/png;base64,{}"/>)",
      x, y, w, h, base64(png_bytes));
  out_ += '\n';
}

void Svg::tooltip(double x, double y, double w, double h, std::string_view text) {
  out_ += fmt::format(
      R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="transparent"><title>{}</title></rect>)", x, y,
      w, h, xml_escape(text));
  out_ += '\n';
}

std::string Svg::finish() && { return std::move(out_) + "</svg>\n"; }

}  // namespace hdr::report
