# Writes OUTPUT, a header defining HDR_GIT_REVISION, the commit SOURCE_DIR is at: run at every
# build (engine/backends/CMakeLists.txt), so a rebuild after a pull or a commit names its own
# commit. The file is rewritten only when the revision changes, so only version.cpp recompiles.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY "${SOURCE_DIR}"
                OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT revision)
  set(revision "unknown")  # a source tree without git
endif()
set(text "// Generated at build time by engine/backends/git_revision.cmake.\n#pragma once\n#define HDR_GIT_REVISION \"${revision}\"\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUTPUT}" "${text}")
endif()
