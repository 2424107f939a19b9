# Transcode integration tests: run the real `yunling transcode` on media the
# tests generate with the ffmpeg CLI; each script says what it checks.
set(TC_IT ${CMAKE_CURRENT_SOURCE_DIR})
yl_add_script(tc_full SCRIPT ${TC_IT}/tc_full.sh TIMEOUT 180)
