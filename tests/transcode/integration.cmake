# Transcode integration tests: run the real `yunling transcode` on media the
# tests generate with the ffmpeg CLI; each script says what it checks.
set(TC_IT ${CMAKE_CURRENT_SOURCE_DIR})
yl_add_script(tc_full SCRIPT ${TC_IT}/tc_full.sh TIMEOUT 300)
yl_add_script(tc_ts SCRIPT ${TC_IT}/tc_ts.sh TIMEOUT 120)
yl_add_script(tc_audio_only SCRIPT ${TC_IT}/tc_audio_only.sh TIMEOUT 60)
yl_add_script(tc_dub_short SCRIPT ${TC_IT}/tc_dub_short.sh TIMEOUT 60)
yl_add_script(tc_dub_long SCRIPT ${TC_IT}/tc_dub_long.sh TIMEOUT 60)
yl_add_script(tc_dub_clock SCRIPT ${TC_IT}/tc_dub_clock.sh TIMEOUT 120)
yl_add_script(tc_audio_copy SCRIPT ${TC_IT}/tc_audio_copy.sh TIMEOUT 400)
yl_add_script(tc_rotate SCRIPT ${TC_IT}/tc_rotate.sh TIMEOUT 120)
yl_add_script(tc_seek_thumbs SCRIPT ${TC_IT}/tc_seek_thumbs.sh TIMEOUT 300)
yl_add_script(tc_subs_embedded SCRIPT ${TC_IT}/tc_subs_embedded.sh TIMEOUT 120)
yl_add_script(tc_burn_subs SCRIPT ${TC_IT}/tc_burn_subs.sh TIMEOUT 180)
foreach(t missing empty random truncated moov subs_utf8 subs_time lang)
    yl_add_script(tc_bad_${t} SCRIPT ${TC_IT}/tc_bad_${t}.sh TIMEOUT 60)
endforeach()
yl_add_script(tc_out_exists SCRIPT ${TC_IT}/tc_out_exists.sh TIMEOUT 60)
yl_add_script(tc_out_unwritable SCRIPT ${TC_IT}/tc_out_unwritable.sh TIMEOUT 60)
yl_add_script(tc_sigterm SCRIPT ${TC_IT}/tc_sigterm.sh TIMEOUT 120)
# The pieces of the pipeline that need no media: publication, playlist
# measuring, codec strings.
yl_add_unit(tc_publish SOURCES ${TC_IT}/test_tc_publish.c LIBS yl_transcode
    TIMEOUT 30)
