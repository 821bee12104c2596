# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[unit.base_crc32c_known_vectors]=] "/work/main/build/tests/rill_unit" "--only" "base_crc32c_known_vectors")
set_tests_properties([=[unit.base_crc32c_known_vectors]=] PROPERTIES  LABELS "unit" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;11;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.base_parse_numbers]=] "/work/main/build/tests/rill_unit" "--only" "base_parse_numbers")
set_tests_properties([=[unit.base_parse_numbers]=] PROPERTIES  LABELS "unit" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;11;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.base_errors_have_names_and_texts]=] "/work/main/build/tests/rill_unit" "--only" "base_errors_have_names_and_texts")
set_tests_properties([=[unit.base_errors_have_names_and_texts]=] PROPERTIES  LABELS "unit" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;11;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.base_arena_and_buf]=] "/work/main/build/tests/rill_unit" "--only" "base_arena_and_buf")
set_tests_properties([=[unit.base_arena_and_buf]=] PROPERTIES  LABELS "unit" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;11;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[unit.base_atomic_write_and_fault_injection]=] "/work/main/build/tests/rill_unit" "--only" "base_atomic_write_and_fault_injection")
set_tests_properties([=[unit.base_atomic_write_and_fault_injection]=] PROPERTIES  LABELS "unit" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;11;add_test;/work/main/tests/CMakeLists.txt;0;")
