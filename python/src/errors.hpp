// The library's status codes as Python exceptions: mixup_cuda.Error (a RuntimeError), and
// for a bad argument mixup_cuda.InvalidValue, which is also a ValueError, so `except
// ValueError` catches every bad input whether the binding or the library found it.
#pragma once

#include <pybind11/pybind11.h>

#include "mixup/mixup.h"

namespace mixup_py {

void register_errors(pybind11::module_& m);
// Raises the exception for a failed status (mixup_last_error() as its message); no-op on success.
void check(mixup_status_t status);

}  // namespace mixup_py
