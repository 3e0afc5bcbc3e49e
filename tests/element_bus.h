// The bus of an element under test, read without a main loop (the gst-check element tests).
#pragma once

#include <gst/gst.h>

#include <string>

namespace vamp::test {

class ElementBus {
 public:
  // Gives `element` (a harness's h->element, or an element alone) a bus of its own.
  explicit ElementBus(GstElement* element) : bus_(gst_bus_new()) { gst_element_set_bus(element, bus_); }
  ~ElementBus() { gst_object_unref(bus_); }  // the element keeps its own reference while it lives
  ElementBus(const ElementBus&) = delete;
  ElementBus& operator=(const ElementBus&) = delete;

  GstBus* bus() const { return bus_; }

  // The user message of the first ERROR posted and not yet read, or "" when there is none.
  std::string error() {
    GstMessage* m = gst_bus_pop_filtered(bus_, GST_MESSAGE_ERROR);
    if (!m) return "";
    GError* err = nullptr;
    gst_message_parse_error(m, &err, nullptr);
    std::string text = err->message;
    g_error_free(err);
    gst_message_unref(m);
    return text;
  }

 private:
  GstBus* bus_;
};

}  // namespace vamp::test
