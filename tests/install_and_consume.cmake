# Installs the built library into a scratch prefix, then builds and runs the examples against
# it exactly as users would: the C++ example through find_package(mixup_cuda), once with the
# static library and once with libmixup_cuda.so.0; the C example through pkg-config, against
# the shared library; and the trainer (nn/) on its own against the installed library.
# Consumers get the build's own compiler and linker flags: a sanitizer build's library needs
# the sanitizer runtime in whatever links it.
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

# pkg-config, as a Makefile would use it.
set(ENV{PKG_CONFIG_PATH} ${WORK_DIR}/prefix/lib/pkgconfig)
execute_process(COMMAND pkg-config --cflags --libs mixup_cuda OUTPUT_VARIABLE pc RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config does not know mixup_cuda: ${rc}")
endif()
separate_arguments(pc UNIX_COMMAND "${pc}")
separate_arguments(cflags UNIX_COMMAND "${CONSUMER_CXX_FLAGS} ${CONSUMER_LINKER_FLAGS}")
run_or_fail("building the C example through pkg-config"
  ${C_COMPILER} -std=c99 -Wall -Wextra -Werror ${cflags} ${SOURCE_DIR}/examples/mixup_example.c ${pc} -lm
  -Wl,-rpath,${WORK_DIR}/prefix/lib -o ${WORK_DIR}/mixup_example_c)
run_or_fail("the C example built through pkg-config" ${WORK_DIR}/mixup_example_c)
