#include "errors.hpp"

#include <string>

namespace py = pybind11;

namespace mixup_py {

namespace {
PyObject* g_error = nullptr;          // mixup_cuda.Error
PyObject* g_invalid_value = nullptr;  // mixup_cuda.InvalidValue(Error, ValueError)
PyObject* g_not_supported = nullptr;  // mixup_cuda.NotSupported(Error, TypeError)
}  // namespace

void register_errors(py::module_& m) {
  g_error = PyErr_NewException("mixup_cuda.Error", PyExc_RuntimeError, nullptr);
  py::tuple invalid_bases = py::make_tuple(py::handle(g_error), py::handle(PyExc_ValueError));
  g_invalid_value = PyErr_NewException("mixup_cuda.InvalidValue", invalid_bases.ptr(), nullptr);
  py::tuple unsupported_bases = py::make_tuple(py::handle(g_error), py::handle(PyExc_TypeError));
  g_not_supported = PyErr_NewException("mixup_cuda.NotSupported", unsupported_bases.ptr(), nullptr);
  // The module keeps these alive for the interpreter's life; the globals borrow them.
  m.attr("Error") = py::handle(g_error);
  m.attr("InvalidValue") = py::handle(g_invalid_value);
  m.attr("NotSupported") = py::handle(g_not_supported);
}

void check(mixup_status_t status) {
  if (status == MIXUP_STATUS_SUCCESS) return;
  PyObject* type = status == MIXUP_STATUS_INVALID_VALUE   ? g_invalid_value
                   : status == MIXUP_STATUS_NOT_SUPPORTED ? g_not_supported
                                                          : g_error;
  const std::string msg = std::string(mixup_status_string(status)) + ": " + mixup_last_error();
  PyErr_SetString(type, msg.c_str());
  throw py::error_already_set();
}

}  // namespace mixup_py
