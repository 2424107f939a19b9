// UI strings: Simplified Chinese first, English second (a switch in the
// header, remembered per device).
import { load, save } from './store.js';

const S = {
  zh: {
    app: '云岭课堂',
    search: '搜索课程（任何语言）',
    allCats: '全部',
    allLangs: '全部语言',
    loading: '正在加载…',
    empty: '还没有课程',
    noResults: '没有找到课程',
    serverDown: '无法连接服务器，请稍后重试',
    retry: '重试',
    more: '加载更多',
    audio: '语言',
    subs: '字幕',
    subsOff: '关闭字幕',
    quality: '清晰度',
    auto: '自动',
    audioOnly: '只听声音',
    play: '播放',
    pause: '暂停',
    back: '返回',
    next: '下一课',
    rew: '后退 10 秒',
    fwd: '前进 10 秒',
    fullscreen: '全屏',
    mute: '静音',
    nextIn: '{n} 秒后播放下一课',
    cancel: '取消',
    setup: '设置本站',
    siteCode: '站点代码',
    token: '站点令牌',
    save: '保存',
    clear: '清除',
    close: '关闭',
    notSetUp: '未设置站点，收看不计入统计',
    setupSaved: '已设置为本站：{name}',
    setupBad: '设置无效：{why}',
    setupLink: '或打开设置链接 /?setup=站点代码.令牌',
    tvMode: '电视模式',
    codec: '此设备无法解码这个视频（{why}）',
    playError: '播放出错：{why}',
    netRetry: '网络中断，正在重试…',
    queued: '{n} 条收看记录待发送',
    help: '快捷键：空格 播放/暂停 · ←/→ 快退/快进 · ↑/↓ 音量 · F 全屏 · M 静音 · L 切换语言 · C 字幕 · N 下一课 · Esc 返回',
    slow: '网速较慢，可以选择“只听声音”',
    langs: '语言',
    notFound: '找不到这节课',
    uiSwitch: 'EN',
    minutes: '{m} 分钟',
    tapToPlay: '按确定键播放',
  },
  en: {
    app: 'Yunling Classroom',
    search: 'Search lessons (any language)',
    allCats: 'All',
    allLangs: 'All languages',
    loading: 'Loading…',
    empty: 'No lessons yet',
    noResults: 'No lessons found',
    serverDown: 'Cannot reach the server. Please try again later.',
    retry: 'Retry',
    more: 'More',
    audio: 'Language',
    subs: 'Subtitles',
    subsOff: 'Off',
    quality: 'Quality',
    auto: 'Auto',
    audioOnly: 'Audio only',
    play: 'Play',
    pause: 'Pause',
    back: 'Back',
    next: 'Next lesson',
    rew: 'Back 10 s',
    fwd: 'Forward 10 s',
    fullscreen: 'Full screen',
    mute: 'Mute',
    nextIn: 'Next lesson in {n} s',
    cancel: 'Cancel',
    setup: 'Set up station',
    siteCode: 'Site code',
    token: 'Site token',
    save: 'Save',
    clear: 'Clear',
    close: 'Close',
    notSetUp: 'Not set up for a station: viewing is not counted',
    setupSaved: 'This device now belongs to: {name}',
    setupBad: 'Setup failed: {why}',
    setupLink: 'or open a setup link /?setup=SITECODE.TOKEN',
    tvMode: 'TV mode',
    codec: 'This device cannot decode this video ({why})',
    playError: 'Playback error: {why}',
    netRetry: 'Network lost, retrying…',
    queued: '{n} viewing records waiting to be sent',
    help: 'Keys: Space play/pause · ←/→ seek · ↑/↓ volume · F full screen · M mute · L language · C subtitles · N next · Esc back',
    slow: 'Slow link: try “Audio only”',
    langs: 'Languages',
    notFound: 'Lesson not found',
    uiSwitch: '中文',
    minutes: '{m} min',
    tapToPlay: 'Press OK to play',
  },
};

let ui = load('ui', 'zh') === 'en' ? 'en' : 'zh';

export function uiLang() {
  return ui;
}

export function setUiLang(l) {
  ui = l === 'en' ? 'en' : 'zh';
  save('ui', ui);
  document.documentElement.lang = ui === 'zh' ? 'zh-Hans' : 'en';
}

/** The UI string `key`, with {name} placeholders filled from `vars`. */
export function t(key, vars) {
  let s = S[ui][key] ?? S.zh[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
  return s;
}
