/* tc_poster.c - see tc_poster.h. */
#include "transcode/tc_poster.h"

#include <errno.h>
#include <stdio.h>

#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>

int tc_poster_write(const AVFrame *frame, int width, int height, int q,
                    const char *path)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *enc = NULL;
    struct SwsContext *sws = NULL;
    AVFrame *pic = NULL;
    AVPacket *pkt = NULL;
    FILE *fp = NULL;
    int ret;

    if (codec == NULL)
        return AVERROR_ENCODER_NOT_FOUND;
    enc = avcodec_alloc_context3(codec);
    pic = av_frame_alloc();
    pkt = av_packet_alloc();
    if (enc == NULL || pic == NULL || pkt == NULL) {
        ret = AVERROR(ENOMEM);
        goto out;
    }
    enc->width = width;
    enc->height = height;
    enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    enc->time_base = (AVRational){1, 25};
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * q;
    enc->color_range = AVCOL_RANGE_JPEG;
    ret = avcodec_open2(enc, codec, NULL);
    if (ret < 0)
        goto out;
    pic->format = AV_PIX_FMT_YUVJ420P;
    pic->width = width;
    pic->height = height;
    ret = av_frame_get_buffer(pic, 0);
    if (ret < 0)
        goto out;
    sws = sws_getContext(frame->width, frame->height, frame->format, width,
                         height, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL,
                         NULL);
    if (sws == NULL) {
        ret = AVERROR(EINVAL);
        goto out;
    }
    sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0,
              frame->height, pic->data, pic->linesize);
    pic->pts = 0;
    ret = avcodec_send_frame(enc, pic);
    if (ret >= 0)
        ret = avcodec_send_frame(enc, NULL);
    if (ret >= 0)
        ret = avcodec_receive_packet(enc, pkt);
    if (ret < 0)
        goto out;
    fp = fopen(path, "wb");
    if (fp == NULL ||
        fwrite(pkt->data, 1, (size_t)pkt->size, fp) != (size_t)pkt->size) {
        ret = -errno;
        goto out;
    }
    ret = fclose(fp) == 0 ? 0 : -errno;
    fp = NULL;
out:
    if (fp)
        fclose(fp);
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&pic);
    avcodec_free_context(&enc);
    return ret;
}
