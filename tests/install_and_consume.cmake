# Installs the built library into a scratch prefix, then builds and runs the examples against
# it exactly as users would: the C++ example through find_package(mixup_cuda), once with the
# static library and once with libmixup_cuda.so.0; the C example through pkg-config, against
# the shared library; and the trainer (nn/) on its own against the installed library.
# Consumers get the build's own compiler and linker flags: a sanitizer build's library needs
# the sanitizer runtime in whatever links it. The prefix lies outside the build tree, and every
# program runs without LD_LIBRARY_PATH: what the README's "Install and link" recipes promise.
unset(ENV{LD_LIBRARY_PATH})
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed: ${rc}")
endif()

function(run_or_fail what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed: ${rc}")
  endif()
endfunction()

foreach(library mixup_cuda mixup_cuda_shared)
  set(build ${WORK_DIR}/build-${library})
  run_or_fail("configuring the example against the installed ${library}"
    ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples -B ${build} -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHS}
    -DMIXUP_EXAMPLE_LIBRARY=mixup::${library}
    "-DCMAKE_CXX_FLAGS=${CONSUMER_CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_LINKER_FLAGS}")
  run_or_fail("building the example against ${library}" ${CMAKE_COMMAND} --build ${build})
  run_or_fail("the example linked with ${library}" ${build}/mixup_example)
endforeach()

# The example linked with the shared library really loads it (not a static copy).
execute_process(COMMAND readelf -d ${WORK_DIR}/build-mixup_cuda_shared/mixup_example OUTPUT_VARIABLE dyn)
if(NOT dyn MATCHES "libmixup_cuda\\.so\\.0")
  message(FATAL_ERROR "the shared build of the example does not load libmixup_cuda.so.0:\n${dyn}")
endif()

# The trainer, mixup::nn, is a plain client too: configured on its own against the installed
# library (nn/CMakeLists.txt finds mixup_cuda; host/ and kernels/ are nowhere on its paths),
# built, and its mixup-train runs a tiny training run with mixup. Not in a sanitizer build:
# there it would add five minutes to the ASan pass to check the same configuration again
# (the trainer itself runs under ASan in the in-tree tests).
if(CONSUMER_CXX_FLAGS MATCHES "-fsanitize")
  message("the trainer against the installed library: checked in the non-sanitizer build only")
elseif(NOT WITH_CUDA)
  message("the trainer against the installed library: built on its own it needs CUDA; not in a build without it")
else()
  set(build ${WORK_DIR}/build-nn)
  run_or_fail("configuring mixup::nn against the installed library"
    ${CMAKE_COMMAND} -S ${SOURCE_DIR}/nn -B ${build} -G ${GENERATOR}
    "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix;${PREFIX_PATH}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHS}
    -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER} -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DMIXUP_CUDNN_ROOT=${CUDNN_ROOT}
    "-DCMAKE_CXX_FLAGS=${CONSUMER_CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_LINKER_FLAGS}")
  run_or_fail("building mixup-train against the installed library" ${CMAKE_COMMAND} --build ${build} --target mixup-train)
  if(DEFINED ENV{MIXUP_DATA_DIR} AND NOT "$ENV{MIXUP_DATA_DIR}" STREQUAL "")
    set(data $ENV{MIXUP_DATA_DIR})
  else()
    set(data /usr/share/datasets/fashion-mnist)
  endif()
  if(EXISTS ${data})
    run_or_fail("mixup-train built against the installed library" ${build}/mixup-train --quiet --device cpu --threads 2
      --data ${data} --epochs 1 --train-limit 256 --bs 64 --mixup on)
  else()
    run_or_fail("mixup-train built against the installed library" ${build}/mixup-train --version)
  endif()
endif()

# The installed shared library carries its CUDA runtime (linked statically): it needs no CUDA
# toolkit where it runs, only the driver, and that only for the CUDA backend.
execute_process(COMMAND ldd ${WORK_DIR}/prefix/lib/libmixup_cuda.so.0 OUTPUT_VARIABLE deps RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR deps MATCHES "libcudart|libcuda\\.")
  message(FATAL_ERROR "the installed libmixup_cuda.so.0 loads a CUDA library (or ldd failed: ${rc}):\n${deps}")
endif()

# pkg-config, as a Makefile would use it: the shared library (mixup_cuda) and the static one
# (mixup_cuda_static), each linked into the C example, which then runs as it is.
set(ENV{PKG_CONFIG_PATH} ${WORK_DIR}/prefix/lib/pkgconfig)
separate_arguments(cflags UNIX_COMMAND "${CONSUMER_CXX_FLAGS} ${CONSUMER_LINKER_FLAGS}")
foreach(pc_name mixup_cuda mixup_cuda_static)
  execute_process(COMMAND pkg-config --cflags --libs ${pc_name} OUTPUT_VARIABLE pc RESULT_VARIABLE rc
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config does not know ${pc_name}: ${rc}")
  endif()
  separate_arguments(pc UNIX_COMMAND "${pc}")
  set(program ${WORK_DIR}/mixup_example_c_${pc_name})
  run_or_fail("building the C example through pkg-config ${pc_name}"
    ${C_COMPILER} -std=c99 -Wall -Wextra -Werror ${cflags} ${SOURCE_DIR}/examples/mixup_example.c ${pc} -lm -o ${program})
  run_or_fail("the C example built through pkg-config ${pc_name}, run without LD_LIBRARY_PATH" ${program})
  execute_process(COMMAND readelf -d ${program} OUTPUT_VARIABLE dyn)
  if(pc_name STREQUAL "mixup_cuda_static" AND dyn MATCHES "libmixup_cuda|libcudart")
    message(FATAL_ERROR "the C example linked through mixup_cuda_static loads a shared library it should not:\n${dyn}")
  endif()
  if(pc_name STREQUAL "mixup_cuda" AND NOT dyn MATCHES "libmixup_cuda\\.so\\.0")
    message(FATAL_ERROR "the C example linked through mixup_cuda does not load libmixup_cuda.so.0:\n${dyn}")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
