# The trainer example (examples/trainer) under mpirun: 2 ranks, trained one epoch and then
# resumed from rank 0's checkpoint for a second, end with the same test loss and accuracy as one
# process doing the same, and only rank 0 prints (the banner and the build info). Runs on 64
# Fashion-MNIST training images (scripts/deps.sh installs them): 2 steps of batch 32 per epoch.
# Both sides resume: the example's cosine schedule spans --epochs, so a run of 1 epoch resumed
# to 2 is not a run of 2 (even in one process); that a resumed DDP run continues bit for bit is
# tests/distributed/mpi/test_mpi_reproducibility.cpp's checkpoint case.
# The loss is compared within 1e-4 relative, not to the digit: ranks sum gradients in another
# order than one process does, a rounding difference that training amplifies (after 14 steps
# about 3e-5 relative, as large as one process's own on 1 thread against 2;
# tests/distributed/mpi/test_mpi_reproducibility.cpp bounds it).
# Variables: MPIEXEC, RESNET, WORK.
file(REMOVE_RECURSE ${WORK})
set(common --depth 8 --batch-size 32 --workers 1 --limit-train 64 --limit-test 50 --no-augment)
function(run out)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE text TIMEOUT 120)
  message("${ARGN}\n${text}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc})")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()
run(one ${RESNET} ${common} --epochs 1 --out ${WORK}/one)
run(one ${RESNET} ${common} --epochs 2 --resume --out ${WORK}/one)
run(first ${MPIEXEC} -n 2 --oversubscribe ${RESNET} ${common} --epochs 1 --out ${WORK}/two)
run(resumed ${MPIEXEC} -n 2 --oversubscribe ${RESNET} ${common} --epochs 2 --resume --out ${WORK}/two)
string(REGEX MATCHALL "ResNet-8 on" banners "${first}")
list(LENGTH banners printed)
if(NOT printed EQUAL 1)
  message(FATAL_ERROR "expected rank 0 alone to print the banner, got it ${printed} times")
endif()
string(REGEX MATCHALL "tapegrad build info" infos "${first}")
list(LENGTH infos printed)
if(NOT printed EQUAL 1)
  message(FATAL_ERROR "expected rank 0 alone to print the build info, got it ${printed} times")
endif()
if(NOT resumed MATCHES "resumed from")
  message(FATAL_ERROR "expected the second 2-rank run to resume")
endif()
# Epoch 2's test loss in millionths (metrics.csv has 6 decimals) and accuracy, from rank 0's file.
function(epoch2 dir loss_out accuracy_out)
  file(STRINGS ${dir}/metrics.csv lines)
  list(GET lines 2 line)
  string(REPLACE "," ";" fields "${line}")
  list(GET fields 3 loss)
  list(GET fields 4 accuracy)
  string(REPLACE "." "" loss "${loss}")
  string(REGEX REPLACE "^0+([0-9])" "\\1" loss "${loss}")
  set(${loss_out} ${loss} PARENT_SCOPE)
  set(${accuracy_out} ${accuracy} PARENT_SCOPE)
endfunction()
epoch2(${WORK}/one loss_a accuracy_a)
epoch2(${WORK}/two loss_b accuracy_b)
message("one process, resumed: loss ${loss_a}e-6, accuracy ${accuracy_a}; 2 ranks, resumed: loss ${loss_b}e-6, accuracy ${accuracy_b}")
math(EXPR diff "${loss_a} - ${loss_b}")
if(diff LESS 0)
  math(EXPR diff "-${diff}")
endif()
math(EXPR scaled "${diff} * 10000")
if(scaled GREATER loss_a OR NOT accuracy_a STREQUAL accuracy_b)
  message(FATAL_ERROR "expected 2 ranks (resumed) to match one process within 1e-4 relative")
endif()
