// nn/data.hpp compiles on its own (a CTest test compiles this file).
#include "data.hpp"
