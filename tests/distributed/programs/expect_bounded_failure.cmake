# Runs PROGRAM CASE on 2 ranks with a 5 s timeout and passes only if the job fails (non-zero
# exit) within BOUND seconds with output matching EXPECT: a hang, a silent exit, a success or
# another message fails the test. Variables: MPIEXEC, PROGRAM, CASE, EXPECT, BOUND, and
# optionally EXPECT2 (a second pattern the output must match too).
string(TIMESTAMP begin "%s" UTC)
execute_process(COMMAND ${MPIEXEC} -n 2 --oversubscribe -x TAPEGRAD_DIST_TIMEOUT=5 ${PROGRAM} ${CASE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 120)
string(TIMESTAMP end "%s" UTC)
math(EXPR elapsed "${end} - ${begin}")
message("case ${CASE}: exit '${rc}' after ${elapsed} s\n${out}")
if(rc EQUAL 0 OR rc MATCHES "timeout")
  message(FATAL_ERROR "expected the job to fail, got exit '${rc}'")
endif()
if(NOT elapsed LESS ${BOUND})
  message(FATAL_ERROR "expected the job to end within ${BOUND} s, took ${elapsed} s")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "expected the output to match '${EXPECT}'")
endif()
if(DEFINED EXPECT2 AND NOT out MATCHES "${EXPECT2}")
  message(FATAL_ERROR "expected the output to match '${EXPECT2}'")
endif()
