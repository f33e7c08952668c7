# Parses one discovered-test file without registering anything (tests/CMakeLists.txt): the
# test commands are stubbed, so `cmake -DFILE=... -P` fails only where the file does not parse.
function(add_test)
endfunction()
function(set_tests_properties)
endfunction()
include("${FILE}")
