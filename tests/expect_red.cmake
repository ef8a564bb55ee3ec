# Runs a GoogleTest binary whose set-up is broken on purpose and checks that the run goes red:
# exit code 1, a "[  FAILED  ]" test, CAUSE (a regex) named in the output, and no
# "[  SKIPPED ]" test (CTest does not count a skip as a failure, so a set-up that fails into
# skips would leave CI green). The environment comes from the CTest entry (tests/CMakeLists.txt).
#   cmake -DCOMMAND=binary [-DARGS=arg;...] -DCAUSE=regex -P expect_red.cmake
foreach(var COMMAND CAUSE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_red.cmake: -D${var}=... is required")
  endif()
endforeach()
execute_process(COMMAND "${COMMAND}" ${ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE output ERROR_VARIABLE output)
message("${output}")
if(NOT code STREQUAL "1")
  message(FATAL_ERROR "expect_red: ${COMMAND} exited with '${code}', expected 1 (failed tests)")
endif()
if(NOT output MATCHES "\\[  FAILED  \\]")
  message(FATAL_ERROR "expect_red: no test reported FAILED")
endif()
if(output MATCHES "\\[  SKIPPED \\]")
  message(FATAL_ERROR "expect_red: a test was SKIPPED instead of failing")
endif()
if(NOT output MATCHES "${CAUSE}")
  message(FATAL_ERROR "expect_red: the output does not name the cause (${CAUSE})")
endif()
message("expect_red: the run failed as it must (exit code 1, FAILED, no SKIPPED, names ${CAUSE})")
