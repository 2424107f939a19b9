# cmocka units of the transcode pieces that need no media file (tc_subs,
# tc_ladder, tc_playlist, tc_thumbs); data files for tc_subs are in data/.
# Language tags are common/yl_lang (tests/common/test_yl_lang.c).
foreach(t tc_subs tc_ladder tc_playlist tc_thumbs)
    yl_add_unit(${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c
        LIBS yl_transcode TIMEOUT 30)
endforeach()
