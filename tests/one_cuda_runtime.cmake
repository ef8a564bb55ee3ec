# Checks that a CUDA build links one CUDA runtime: the shared libcudart (which cuBLAS and cuDNN
# load too), and not also the static one, whose second copy of the runtime's state breaks
# handles and streams passed between the two. Statically linked, cudaMalloc would be defined in
# the binary itself.
#   cmake -DBINARY=path/to/hdr -P one_cuda_runtime.cmake
if(NOT DEFINED BINARY)
  message(FATAL_ERROR "one_cuda_runtime.cmake: -DBINARY=... is required")
endif()
execute_process(COMMAND readelf --dynamic "${BINARY}" RESULT_VARIABLE code OUTPUT_VARIABLE dynamic)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "one_cuda_runtime: readelf failed on ${BINARY}")
endif()
if(NOT dynamic MATCHES "NEEDED[^\n]*libcudart\\.so")
  message(FATAL_ERROR "one_cuda_runtime: ${BINARY} does not load the shared libcudart")
endif()
execute_process(COMMAND nm --defined-only "${BINARY}" RESULT_VARIABLE code OUTPUT_VARIABLE symbols)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "one_cuda_runtime: nm failed on ${BINARY}")
endif()
if(symbols MATCHES "[ \n][TtWw] cudaMalloc\n")
  message(FATAL_ERROR "one_cuda_runtime: ${BINARY} also defines cudaMalloc: the static runtime is linked in")
endif()
message("one_cuda_runtime: ${BINARY} links the shared CUDA runtime only")
