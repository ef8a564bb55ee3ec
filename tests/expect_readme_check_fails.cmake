# tools/check_readme.sh must fail on a README whose quick-start block is broken, naming that
# block, and on a README with no quick-start block at all (a lost marker must not pass).
# cmake -DHDR=<hdr binary> -DSCRATCH=<folder> -P tests/expect_readme_check_fails.cmake, from the
# source root.
file(MAKE_DIRECTORY "${SCRATCH}")
set(readme "${SCRATCH}/README.broken.md")
file(WRITE "${readme}" "# A README\n\n<!-- quickstart -->\n```sh\nbuild/release/hdr info configs/mlp.ini\n```\n\n"
                       "<!-- quickstart -->\n```sh\nbuild/release/hdr info configs/no_such_config.ini\n```\n")
execute_process(COMMAND tools/check_readme.sh "${HDR}" cpu "${readme}" RESULT_VARIABLE code OUTPUT_VARIABLE out
                ERROR_VARIABLE out)
message("${out}")
if(NOT code EQUAL 1)
  message(FATAL_ERROR "check_readme.sh exited ${code} on a broken block, expected 1")
endif()
foreach(needle "passed: the block after README.broken.md:3" "FAILED: the block after README.broken.md:8 (exit 2)"
               "no_such_config.ini: no such config file" "1 passed, 1 failed, 0 SKIPPED of 2 blocks")
  string(FIND "${out}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "check_readme.sh's output lacks: ${needle}")
  endif()
endforeach()

file(WRITE "${readme}" "# A README\n\n```sh\nbuild/release/hdr info configs/no_such_config.ini\n```\n")
execute_process(COMMAND tools/check_readme.sh "${HDR}" cpu "${readme}" RESULT_VARIABLE code OUTPUT_VARIABLE out
                ERROR_VARIABLE out)
message("${out}")
string(FIND "${out}" "no <!-- quickstart --> block for 'cpu'" at)
if(NOT code EQUAL 1 OR at EQUAL -1)
  message(FATAL_ERROR "check_readme.sh exited ${code} on a README without quick-start blocks, expected 1 and the reason")
endif()
