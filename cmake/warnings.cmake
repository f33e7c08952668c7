# -Wall -Wextra on every target this project defines (not on a googletest built from source,
# nor on anything else a consumer's build adds), and with MIXUP_WERROR (on in the ci and asan
# presets) every such warning fails the build. CUDA sources get the same flags for their host
# code through -Xcompiler; nvcc's own diagnostics (deprecations, #20012-D and the like) are
# not host-compiler warnings and stay warnings, so a new toolkit cannot break the build by
# itself.
option(MIXUP_WERROR "Treat the host compiler's warnings in this project's own code as errors" OFF)

function(mixup_add_warnings dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|OBJECT_LIBRARY)$")
      target_compile_options(${t} PRIVATE
        $<$<COMPILE_LANGUAGE:C,CXX>:-Wall -Wextra $<$<BOOL:${MIXUP_WERROR}>:-Werror>>
        $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra$<$<BOOL:${MIXUP_WERROR}>:,-Werror>>)
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(d IN LISTS subdirs)
    cmake_path(IS_PREFIX PROJECT_SOURCE_DIR "${d}" NORMALIZE ours)
    if(ours)
      mixup_add_warnings(${d})
    endif()
  endforeach()
endfunction()
