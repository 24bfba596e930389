# Runs PROGRAM on 2 ranks and passes only if the job fails (non-zero) within 30 s with the
# throwing rank's message: a hang or a silent exit fails the test.
execute_process(COMMAND ${MPIEXEC} -n 2 --oversubscribe ${PROGRAM}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 30)
message("exit: ${rc}\n${out}")
if(rc EQUAL 0 OR rc MATCHES "timeout")
  message(FATAL_ERROR "expected the job to fail fast, got exit '${rc}'")
endif()
if(NOT out MATCHES "rank 1 of 2 failed: boom from the data loader")
  message(FATAL_ERROR "expected rank 1's message in the output")
endif()
