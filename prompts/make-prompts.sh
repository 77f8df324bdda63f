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
