#!/bin/bash
# What bash offers on TAB after LINE (the last argument), one candidate a line: bash-completion
# loaded, and pycinspect's completion found by bash-completion itself, as on the first TAB in a
# new shell (its default completion loads it from the directories it searches:
# $XDG_DATA_DIRS/bash-completion/completions...).  COMP_WORDS is LINE cut as readline cuts it:
# at blanks, and '=' a word of its own (COMP_WORDBREAKS).  Exit 3 when nothing loads it.
# Used by test_completion.py.
line=$1
source /usr/share/bash-completion/bash_completion || exit 3
spec=$(complete -p -D) || exit 3
fn=${spec##*-F }
fn=${fn%% *}
"$fn" pycinspect "" pycinspect
spec=$(complete -p pycinspect) || exit 3
fn=${spec##*-F }
fn=${fn%% *}

read -ra raw <<<"$line"
COMP_WORDS=()
for w in "${raw[@]}"; do
	while [[ $w == *=* ]]; do
		COMP_WORDS+=("${w%%=*}" "=")
		w=${w#*=}
	done
	[[ $w ]] && COMP_WORDS+=("$w")
done
[[ $line == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMPREPLY=()
"$fn" pycinspect "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
for c in "${COMPREPLY[@]}"; do
	printf '%s\n' "$c"
done
