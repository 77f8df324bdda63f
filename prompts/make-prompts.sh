#!/bin/sh
# Regenerate trunkd's stock prompts: 8000 Hz mono 16-bit PCM WAV, trimmed of
# leading/trailing silence, normalized to -6 dBFS peak.
# Needs: espeak-ng, sox   (Debian: apt-get install -y espeak-ng sox)
# Usage: ./make-prompts.sh [output-dir]   (default: the directory of this script)
set -eu

out=${1:-$(cd "$(dirname "$0")" && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# say VOICE SPEED FILE TEXT
say() {
    voice=$1 speed=$2 file=$3 text=$4
    mkdir -p "$(dirname "$out/$file")"
    espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" -- "$text"
    # silence/reverse/silence/reverse trims both ends (threshold 1%);
    # gain -3 leaves headroom so resampling cannot clip; rate before norm so
    # the peak is measured on the final 8 kHz signal;
    # -D: no dither, so regenerated files are bit-identical.
    sox -D "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$out/$file" \
        silence 1 0.02 1% reverse silence 1 0.02 1% reverse \
        gain -3 rate 8000 norm -6
}

say en 150 en/welcome.wav "Welcome to trunk d. Please enter your account number, then press the hash key."
say en 150 en/thanks.wav  "Thank you. Please leave a message after the tone."
say en 150 en/goodbye.wav "Goodbye."
say en 150 en/invalid.wav "Sorry, that is not a valid entry."
i=0
for w in zero one two three four five six seven eight nine; do
    say en 150 "en/digits/$i.wav" "$w"
    i=$((i + 1))
done

# say/: the words src/ivr/say.rs strings together to read numbers, amounts,
# dates and times (0-9 come from digits/ above). One word per file, so a
# value is read by playing a few short files back to back.
i=10
for w in ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen; do
    say en 150 "en/say/$i.wav" "$w"
    i=$((i + 1))
done
i=20
for w in twenty thirty forty fifty sixty seventy eighty ninety; do
    say en 150 "en/say/$i.wav" "$w"
    i=$((i + 10))
done
for w in hundred thousand million billion minus yuan fen oh star pound; do
    say en 150 "en/say/$w.wav" "$w"
done
# "a.m."/"p.m." with dots: espeak-ng reads "a m" as the article "a" plus "m".
say en 150 en/say/oclock.wav "o'clock"
say en 150 en/say/am.wav "a.m."
say en 150 en/say/pm.wav "p.m."
for w in january february march april may june july august september october november december; do
    say en 150 "en/say/month/$w.wav" "$w"
done
# Ordinal days: 1-19, 20 and 30; 21st-29th and 31st are "twenty"/"thirty"
# (say/20.wav, say/30.wav) followed by ord/1.wav-ord/9.wav.
i=1
for w in first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth \
    thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth; do
    say en 150 "en/say/ord/$i.wav" "$w"
    i=$((i + 1))
done
say en 150 en/say/ord/20.wav twentieth
say en 150 en/say/ord/30.wav thirtieth

# Mandarin uses the cmn-latn-pinyin voice: with espeak-ng 1.51 (Debian 12)
# plain "cmn" reads each character's internal pinyin through the English
# voice, tone digit included ("再" -> "zai four"; espeak-ng issue #1236).
# Set ZH_VOICE=cmn on a fixed espeak-ng.
ZH_VOICE=${ZH_VOICE:-cmn-latn-pinyin}
# "trunk d" is written with a space, as in English, so "trunk" is read as a
# word instead of letter by letter.
say "$ZH_VOICE" 150 zh/welcome.wav "欢迎致电trunk d，请输入您的账号，以井号键结束。"
say "$ZH_VOICE" 150 zh/thanks.wav  "谢谢，请在提示音后留言。"
say "$ZH_VOICE" 150 zh/goodbye.wav "再见。"
say "$ZH_VOICE" 150 zh/invalid.wav "输入无效。"
i=0
for w in 零 一 二 三 四 五 六 七 八 九; do
    say "$ZH_VOICE" 150 "zh/digits/$i.wav" "$w"
    i=$((i + 1))
done

# say/: Mandarin words for src/ivr/say.rs, named by pinyin (零 and 一-九 come
# from digits/). 分 serves both as the money unit and as "minute".
for p in shi:十 bai:百 qian:千 wan:万 yi:亿 liang:两 fu:负 yuan:元 jiao:角 fen:分 zheng:整 \
    nian:年 yue:月 ri:日 dian:点 xinghao:星号 jinghao:井号; do
    say "$ZH_VOICE" 150 "zh/say/${p%%:*}.wav" "${p#*:}"
done
