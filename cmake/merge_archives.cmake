# cmake -DAR=... -DMRI=script.mri -P merge_archives.cmake: runs `ar -M` on an MRI script (which merges static
# archives into one), without a shell.
execute_process(COMMAND ${AR} -M INPUT_FILE ${MRI} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${AR} -M < ${MRI} failed (${rc})")
endif()
