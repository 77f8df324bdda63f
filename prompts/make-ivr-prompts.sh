#!/bin/sh
# Generate the prompts of the example IVR scripts (scripts/*.lua) under en/ivr/
# and zh/ivr/, with the pipeline of make-prompts.sh (same voices, speed, trim
# and -6 dBFS peak normalization), except that the files are 8000 Hz mono
# A-law (8-bit) WAV instead of 16-bit PCM: half the size, and no loss on an
# A-law line. trunkd plays both.
# Needs: espeak-ng, sox   (Debian: apt-get install -y espeak-ng sox)
# Usage: ./make-ivr-prompts.sh [output-dir]   (default: the directory of this script)
set -eu

out=${1:-$(cd "$(dirname "$0")" && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# say VOICE SPEED FILE TEXT  (make-prompts.sh's, with -e a-law -b 8)
say() {
    voice=$1 speed=$2 file=$3 text=$4
    mkdir -p "$(dirname "$out/$file")"
    espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" -- "$text"
    # silence/reverse/silence/reverse trims both ends (threshold 1%);
    # gain -3 leaves headroom so resampling cannot clip; rate before norm so
    # the peak is measured on the final 8 kHz signal;
    # -D: no dither, so regenerated files are bit-identical.
    sox -D "$tmp/raw.wav" -r 8000 -c 1 -b 8 -e a-law "$out/$file" \
        silence 1 0.02 1% reverse silence 1 0.02 1% reverse \
        gain -3 rate 8000 norm -6
}

say en 150 en/ivr/menu.wav           "For self-service, press 1. For an agent, press 0."
say en 150 en/ivr/agent.wav          "Connecting you to an agent."
say en 150 en/ivr/no-agent.wav       "No agent is available, please try again later."
say en 150 en/ivr/account.wav        "Please enter your account number, followed by the hash key."
say en 150 en/ivr/balance-is.wav     "Your balance is"
say en 150 en/ivr/no-account.wav     "Sorry, that account was not found."
say en 150 en/ivr/leave-message.wav  "Please leave a message after the tone. Press hash when done."
say en 150 en/ivr/message-saved.wav  "Your message has been recorded."
say en 150 en/ivr/not-understood.wav "Sorry, I did not get that."

# Mandarin: the cmn-latn-pinyin voice, as in make-prompts.sh (plain "cmn" of
# espeak-ng 1.51 reads the pinyin with the English voice; issue #1236).
# Digits are written as characters (按一, 按零) so they are read in Mandarin.
ZH_VOICE=${ZH_VOICE:-cmn-latn-pinyin}
say "$ZH_VOICE" 150 zh/ivr/menu.wav           "自助服务请按一，人工服务请按零。"
say "$ZH_VOICE" 150 zh/ivr/agent.wav          "正在为您转接人工客服。"
say "$ZH_VOICE" 150 zh/ivr/no-agent.wav       "暂时没有客服可以接听，请稍后再拨。"
say "$ZH_VOICE" 150 zh/ivr/account.wav        "请输入您的账号，以井号键结束。"
say "$ZH_VOICE" 150 zh/ivr/balance-is.wav     "您的余额是"
say "$ZH_VOICE" 150 zh/ivr/no-account.wav     "对不起，没有找到这个账号。"
say "$ZH_VOICE" 150 zh/ivr/leave-message.wav  "请在提示音后留言，按井号键结束。"
say "$ZH_VOICE" 150 zh/ivr/message-saved.wav  "您的留言已经录好了。"
say "$ZH_VOICE" 150 zh/ivr/not-understood.wav "对不起，我没有听清。"
