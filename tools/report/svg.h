// A small SVG writer: the drawing primitives the report's charts use, with every text escaped
// and every number printed with one decimal. No ids are emitted, so several SVGs can be inlined
// into one HTML page without clashing; no XML declaration, so the same string is both the
// standalone .svg file and the page's inline element.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hdr::report {

// Text as XML character data or an attribute value.
std::string xml_escape(std::string_view text);

// Standard base64 (RFC 4648, padded): PNG images inlined as data URLs.
std::string base64(std::span<const uint8_t> bytes);

struct TextStyle {
  double size = 12;
  std::string_view anchor = "start";  // start, middle, end
  std::string_view fill = "#222";
  bool bold = false;
  double rotate = 0;  // degrees, about the text's anchor point
};

struct Stroke {
  std::string_view color = "#222";
  double width = 1;
  std::string_view dash = {};  // e.g. "4 3"; empty: solid
};

using Points = std::vector<std::pair<double, double>>;

class Svg {
 public:
  // An SVG of width x height user units; `title` is its accessible name (<title>).
  Svg(double width, double height, std::string_view title);

  void rect(double x, double y, double w, double h, std::string_view fill, const Stroke* stroke = nullptr);
  void line(double x1, double y1, double x2, double y2, const Stroke& stroke);
  void polyline(const Points& points, const Stroke& stroke);
  void circle(double cx, double cy, double r, std::string_view fill);
  void text(double x, double y, std::string_view text, const TextStyle& style = {});
  // A PNG drawn with its pixels kept sharp when scaled up.
  void png(double x, double y, double w, double h, std::span<const uint8_t> png_bytes);
  // A tooltip for the element drawn last (<title> inside it is not possible after the fact, so
  // this draws a transparent rect with the tooltip over the given area).
  void tooltip(double x, double y, double w, double h, std::string_view text);

  double width() const { return width_; }
  double height() const { return height_; }
  std::string finish() &&;

 private:
  double width_, height_;
  std::string out_;
};

}  // namespace hdr::report
