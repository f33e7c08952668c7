// libmixup_cuda.so has no sources of its own: its objects are the static archive, linked whole
// (CMakeLists.txt). CMake 3.25 wants a source for every library target; this is it.
