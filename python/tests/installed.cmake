# cpu.python_installed: the package's install rules (component "python") put it where the
# interpreter finds it under a prefix, and the installed extension loads the installed
# libmixup_cuda.so.0 through its RUNPATH ($ORIGIN/..), not the build tree's.
# -DBUILD_DIR -DWORK_DIR -DPYTHON -DSITE (MIXUP_PYTHON_INSTALL_DIR) -DLIBDIR -DLIBRARY (the .so.0 file)
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR} --component python
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install of the python component failed: ${rc}")
endif()
# The library's own install rules are the other tests' business; here a copy stands in for them.
file(COPY ${LIBRARY} DESTINATION ${WORK_DIR}/${LIBDIR} FOLLOW_SYMLINK_CHAIN)
execute_process(COMMAND ${CMAKE_COMMAND} -E env PYTHONPATH=${WORK_DIR}/${SITE} PYTHONDONTWRITEBYTECODE=1
  ${PYTHON} -c "import mixup_cuda, numpy; print(mixup_cuda.__file__); print(mixup_cuda.library_path()); mixup_cuda.Mixup(seed=1)(numpy.ones((2, 3), numpy.float32))"
  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the installed package does not import: ${err}")
endif()
string(REPLACE "\n" ";" lines "${out}")
list(GET lines 0 pkg)
list(GET lines 1 lib)
file(REAL_PATH ${lib} lib)
file(REAL_PATH ${WORK_DIR} root)
string(FIND "${pkg}" "${WORK_DIR}/${SITE}/mixup_cuda/" at_pkg)
string(FIND "${lib}" "${root}/${LIBDIR}/" at_lib)
if(NOT at_pkg EQUAL 0 OR NOT at_lib EQUAL 0)
  message(FATAL_ERROR "imported ${pkg} with ${lib}; expected both under ${WORK_DIR}")
endif()
message(STATUS "installed package ${pkg} loads ${lib}")
