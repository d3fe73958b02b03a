#!/usr/bin/zsh -f
# What zsh offers on TAB after LINE, one candidate a line as <WORD> (with the prefix and suffix
# it would insert: --check=stale,): an interactive zsh in a pseudo-terminal (zpty), compinit
# with FPATH-DIR first in $fpath, compadd wrapped to print what it is given, and the line typed
# with a TAB.  The technique of zsh-capture-completion (github.com/Valodim).
#   zsh.zsh FPATH-DIR LINE
# Used by test_completion.py.
zmodload zsh/zpty || { print -u2 'zsh/zpty is missing'; exit 3 }
setup=$(mktemp) || exit 3
cat >$setup <<SETUP
PROMPT=''
RPROMPT=''
fpath=(${(q)1} \$fpath)
autoload -Uz compinit
compinit -u -D
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
zstyle ':completion:*' list-separator ''
bindkey '^I' complete-word
null-line() { echo -E - \$'\\0' }
compprefuncs=(null-line)
comppostfuncs=(null-line exit)
compadd() {
	if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then
		builtin compadd "\$@"
		return
	fi
	typeset -a __hits
	builtin compadd -A __hits "\$@"
	setopt localoptions norcexpandparam extendedglob
	typeset -A __o
	zparseopts -A __o -E P: p: S: s:
	local h
	for h in \$__hits; do echo -E - "<\$IPREFIX\$__o[-P]\$__o[-p]\$h\$__o[-s]\$__o[-S]>"; done
	builtin compadd "\$@"
}
echo ready
SETUP
zpty z zsh -f -i
zpty -w z "source ${(q)setup}"
local line
integer ok=0
repeat 200; do
	zpty -r z line || break
	[[ $line == ready* ]] && { ok=1; break }
done
rm -f $setup
(( ok )) || { print -u2 'zsh did not start'; exit 3 }
zpty -w z "$2"$'\t'
integer tog=0
while zpty -r z line; do
	if [[ $line == *$'\0'* ]]; then
		(( tog++ )) && break || continue
	fi
	(( tog )) && print -r -- ${line%$'\r'}
done
zpty -d z
