/* mkdvdsub.c - test helper: copies the video and audio of IN into OUT (.mkv)
 * and adds a DVD (picture) subtitle stream of two cues, encoded with
 * libavcodec's dvdsub encoder. The ffmpeg CLI cannot make picture
 * subtitles from text, and tc_subs_embedded.sh needs one.
 *
 * usage: yl_mkdvdsub IN OUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#define W 320
#define H 60

static int fail(const char *what, int ret)
{
    char e[128];

    av_strerror(ret, e, sizeof(e));
    fprintf(stderr, "yl_mkdvdsub: %s: %s\n", what, e);
    return 1;
}

/* One cue of a white bar on a transparent 4-colour bitmap. */
static int encode_cue(AVCodecContext *enc, AVFormatContext *out, int sidx,
                      int64_t start_ms, int64_t dur_ms)
{
    AVSubtitle sub;
    AVSubtitleRect rect, *rects[1] = {&rect};
    uint32_t pal[4] = {0x00000000, 0xffffffff, 0xff000000, 0xff808080};
    uint8_t *bits = calloc(W * H, 1), buf[65536];
    AVPacket *pkt = av_packet_alloc();
    int n, ret;

    if (bits == NULL || pkt == NULL) {
        free(bits);
        av_packet_free(&pkt);
        return AVERROR(ENOMEM);
    }
    for (int y = 20; y < 40; y++)
        memset(bits + y * W + 40, 1, W - 80);
    memset(&rect, 0, sizeof(rect));
    rect.x = 0;
    rect.y = 0;
    rect.w = W;
    rect.h = H;
    rect.nb_colors = 4;
    rect.type = SUBTITLE_BITMAP;
    rect.data[0] = bits;
    rect.linesize[0] = W;
    rect.data[1] = (uint8_t *)pal;
    rect.linesize[1] = 4;
    memset(&sub, 0, sizeof(sub));
    sub.num_rects = 1;
    sub.rects = rects;
    sub.start_display_time = 0;
    sub.end_display_time = (uint32_t)dur_ms;
    sub.pts = av_rescale(start_ms, AV_TIME_BASE, 1000);
    n = avcodec_encode_subtitle(enc, buf, sizeof(buf), &sub);
    free(bits);
    if (n < 0) {
        av_packet_free(&pkt);
        return n;
    }
    ret = av_new_packet(pkt, n);
    if (ret < 0) {
        av_packet_free(&pkt);
        return ret;
    }
    memcpy(pkt->data, buf, (size_t)n);
    pkt->stream_index = sidx;
    pkt->pts = pkt->dts = av_rescale_q(start_ms, (AVRational){1, 1000},
                                       out->streams[sidx]->time_base);
    pkt->duration = av_rescale_q(dur_ms, (AVRational){1, 1000},
                                 out->streams[sidx]->time_base);
    ret = av_interleaved_write_frame(out, pkt);
    av_packet_free(&pkt);
    return ret;
}

int main(int argc, char **argv)
{
    AVFormatContext *in = NULL, *out = NULL;
    AVCodecContext *enc = NULL;
    const AVCodec *dvd = avcodec_find_encoder(AV_CODEC_ID_DVD_SUBTITLE);
    AVPacket *pkt = av_packet_alloc();
    AVStream *ss;
    int ret, rc = 1, sidx, *map = NULL;
    unsigned i;

    if (argc != 3) {
        fprintf(stderr, "usage: yl_mkdvdsub IN OUT.mkv\n");
        return 64;
    }
    if (dvd == NULL || pkt == NULL)
        return fail("dvdsub encoder", AVERROR_ENCODER_NOT_FOUND);
    if ((ret = avformat_open_input(&in, argv[1], NULL, NULL)) < 0 ||
        (ret = avformat_find_stream_info(in, NULL)) < 0) {
        rc = fail(argv[1], ret);
        goto out;
    }
    if ((ret = avformat_alloc_output_context2(&out, NULL, "matroska",
                                              argv[2])) < 0) {
        rc = fail(argv[2], ret);
        goto out;
    }
    map = calloc(in->nb_streams, sizeof(*map));
    if (map == NULL)
        goto out;
    for (i = 0; i < in->nb_streams; i++) {
        AVStream *o = avformat_new_stream(out, NULL);

        if (o == NULL ||
            avcodec_parameters_copy(o->codecpar, in->streams[i]->codecpar) < 0)
            goto out;
        o->codecpar->codec_tag = 0;
        map[i] = o->index;
    }
    enc = avcodec_alloc_context3(dvd);
    if (enc == NULL)
        goto out;
    enc->width = W;
    enc->height = H;
    enc->time_base = (AVRational){1, 1000};
    if ((ret = avcodec_open2(enc, dvd, NULL)) < 0) {
        rc = fail("opening the dvdsub encoder", ret);
        goto out;
    }
    ss = avformat_new_stream(out, NULL);
    if (ss == NULL || avcodec_parameters_from_context(ss->codecpar, enc) < 0)
        goto out;
    ss->time_base = (AVRational){1, 1000};
    av_dict_set(&ss->metadata, "language", "lis", 0);
    sidx = ss->index;
    if ((ret = avio_open(&out->pb, argv[2], AVIO_FLAG_WRITE)) < 0 ||
        (ret = avformat_write_header(out, NULL)) < 0) {
        rc = fail(argv[2], ret);
        goto out;
    }
    if ((ret = encode_cue(enc, out, sidx, 1000, 1500)) < 0 ||
        (ret = encode_cue(enc, out, sidx, 4000, 1500)) < 0) {
        rc = fail("writing the subtitle cues", ret);
        goto out;
    }
    while (av_read_frame(in, pkt) >= 0) {
        AVStream *is = in->streams[pkt->stream_index];
        AVStream *os = out->streams[map[pkt->stream_index]];

        av_packet_rescale_ts(pkt, is->time_base, os->time_base);
        pkt->stream_index = os->index;
        pkt->pos = -1;
        ret = av_interleaved_write_frame(out, pkt);
        if (ret < 0) {
            rc = fail("copying a packet", ret);
            goto out;
        }
    }
    if ((ret = av_write_trailer(out)) < 0) {
        rc = fail(argv[2], ret);
        goto out;
    }
    rc = 0;
out:
    free(map);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    if (out != NULL && out->pb != NULL)
        avio_closep(&out->pb);
    avformat_free_context(out);
    avformat_close_input(&in);
    return rc;
}
