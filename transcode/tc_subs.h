/* tc_subs.h - subtitles (SRT, WebVTT, ASS/SSA) to WebVTT for HLS.
 * Any thread; a tc_subs is owned by one thread at a time. */
#ifndef YL_TC_SUBS_H
#define YL_TC_SUBS_H

#include <stddef.h>
#include <stdint.h>

/* One cue: times in milliseconds, text is plain UTF-8 (markup removed,
 * entities decoded), lines separated by '\n', never an empty line. */
typedef struct tc_cue {
    int64_t start_ms, end_ms;
    char *text;
} tc_cue;

typedef struct tc_subs tc_subs; /* opaque */

enum tc_subs_format {
    TC_SUBS_SRT = 1,
    TC_SUBS_VTT = 2,
    TC_SUBS_ASS = 3,
};

/* Parses SRT, WebVTT or ASS/SSA (detected from content, not the name).
 * UTF-8 is validated (a BOM and CRLF are fine; invalid bytes are an error,
 * never silently dropped); timestamps validated (malformed, end < start ->
 * YL_EBADTIME). On error *err_line gets the 1-based line (0 if none).
 * Returns 0 and *out, or YL_EBADUTF8, YL_EBADTIME, YL_ECORRUPT (not a
 * subtitle file / no cues), -ENOMEM. ASS override tags {\..} are removed,
 * \N becomes a line break. SRT <i>/<b>/<u>/<s>/<font> tags and VTT markup
 * are removed (cue text is plain). Cues come out sorted by start time
 * (stable); cues whose text is empty are skipped. */
int tc_subs_parse(const char *data, size_t len, tc_subs **out, int *err_line);

/* As tc_subs_parse(); on error also writes a one-line reason without the
 * file name or line ("invalid UTF-8 byte 0xff") into why (may be NULL). */
int tc_subs_parse_ex(const char *data, size_t len, tc_subs **out, int *err_line,
                     char *why, size_t whylen);

/* Reads a file and parses it (-errno for I/O errors, YL_ETOOBIG over
 * 64 MiB). */
int tc_subs_load(const char *path, tc_subs **out, int *err_line);
int tc_subs_load_ex(const char *path, tc_subs **out, int *err_line, char *why,
                    size_t whylen);

/* Cues one at a time (a subtitle stream inside a media file, which
 * libavcodec's text decoders hand out as ASS event text): a new, empty
 * set, then tc_subs_add_ass() per cue, then tc_subs_finish(). */
tc_subs *tc_subs_new(void); /* NULL when out of memory */

/* Adds a cue from an ASS event's Text field ({\..} tags removed, \N a
 * line break); an empty text is skipped. 0, YL_EBADUTF8 (invalid UTF-8 or
 * a NUL), YL_EBADTIME (negative start, end before start) or -ENOMEM. */
int tc_subs_add_ass(tc_subs *s, int64_t start_ms, int64_t end_ms,
                    const char *text, size_t len);

/* Sorts the cues and drops repeats. 0, YL_ECORRUPT when no cue has text,
 * or -ENOMEM. */
int tc_subs_finish(tc_subs *s);

size_t tc_subs_count(const tc_subs *s);
const tc_cue *tc_subs_cue(const tc_subs *s, size_t i); /* NULL if i >= n */
enum tc_subs_format tc_subs_format(const tc_subs *s);  /* what was read */

/* Renders the WebVTT text tc_subs_write_vtt() writes; *out is malloc'd,
 * caller frees. 0 or -ENOMEM. */
int tc_subs_render_vtt(const tc_subs *s, int64_t mpegts, char **out);

/* Writes a WebVTT file (WEBVTT header, X-TIMESTAMP-MAP=MPEGTS:<mpegts>,
 * LOCAL:00:00:00.000 for HLS, cues escaped for WebVTT: & < >), atomically.
 * 0, -errno or -ENOMEM. */
int tc_subs_write_vtt(const tc_subs *s, const char *path, int64_t mpegts);

/* The style of burned-in subtitles (docs/transcode.md), in ASS units of a
 * 384x288 script (libavcodec's default for text subtitles; libass scales it
 * to the picture): white text, black outline, bottom centre. The same as
 * the ffmpeg CLI's subtitles filter with force_style "FontName=<font>,
 * FontSize=22,Outline=2,Shadow=1,MarginV=14". */
#define TC_SUBS_ASS_SIZE    22
#define TC_SUBS_ASS_OUTLINE 2
#define TC_SUBS_ASS_SHADOW  1
#define TC_SUBS_ASS_MARGINV 14

/* Renders the cues as an ASS script for libass (the `subtitles` filter),
 * every cue in the style above with the font family font (no ',' or line
 * breaks). *out is malloc'd, caller frees. 0, YL_EINVAL or -ENOMEM. */
int tc_subs_render_ass(const tc_subs *s, const char *font, char **out);

/* tc_subs_render_ass() into a file, atomically. 0, -errno, YL_EINVAL or
 * -ENOMEM. */
int tc_subs_write_ass(const tc_subs *s, const char *path, const char *font);

/* Writes the HLS subtitle media playlist for one WebVTT file that covers
 * duration_s (EXT-X-PLAYLIST-TYPE:VOD, ENDLIST), atomically. 0, -errno, or
 * YL_EINVAL for a duration <= 0 or a URI that is empty or multi-line. */
int tc_subs_write_playlist(const char *path, const char *vtt_uri,
                           double duration_s);

void tc_subs_free(tc_subs *s); /* NULL is a no-op */

#endif
