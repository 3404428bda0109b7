# SPDX-License-Identifier: GPL-2.0-or-later
# bash completion for ivozfw(8)
_ivozfw_files() {
    if declare -F _filedir >/dev/null; then _filedir "$@"
    elif [[ ${1:-} == -d ]]; then COMPREPLY=($(compgen -d -- "$cur"))
    else COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

_ivozfw() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else   # without the bash-completion package
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local commands="check diff apply confirm rollback export remove status explain bans ban unban geoip companies platform bansync watch"
    local i cmd="" sub=""
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        --state-dir | -p | --policy | --source | --table | --confirm | --for | --format | -o | --output) ((i++)) ;;
        -*) ;;
        *)
            if [[ -z $cmd ]]; then cmd=${words[i]}
            elif [[ -z $sub && ($cmd == geoip || $cmd == companies || $cmd == platform) ]]; then sub=${words[i]}
            fi ;;
        esac
    done
    case $prev in
    -p | --policy | -o | --output)
        _ivozfw_files
        return ;;
    --state-dir)
        _ivozfw_files -d
        return ;;
    --source)
        _ivozfw_files
        COMPREPLY+=($(compgen -W "- mysql:" -- "$cur"))
        return ;;
    --format)
        COMPREPLY=($(compgen -W "text json prometheus" -- "$cur"))
        return ;;
    --for)
        COMPREPLY=($(compgen -W "300s 5m 1h 1d" -- "$cur"))
        return ;;
    --confirm | --table) return ;;
    esac
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands --state-dir --version --help" -- "$cur"))
        return
    fi
    local opts="-p --policy --help"
    case $cmd in
    diff | bans) opts+=" --json" ;;
    check) opts+=" --kernel" ;;
    apply) opts+=" --confirm --force --boot" ;;
    remove) opts+=" --table" ;;
    status) opts+=" --json --format --output" ;;
    explain)
        opts+=" --json --forwarded"
        if [[ $cur != -* ]]; then
            local n=0
            for ((i = 2; i < cword; i++)); do [[ ${words[i]} != -* && ${words[i - 1]} != -p && ${words[i - 1]} != --policy ]] && ((n++)); done
            ((n == 1)) && COMPREPLY=($(compgen -W "tcp/ udp/ tcp/22 udp/5060 tcp/5060 tcp/5061 tcp/443" -- "$cur")) && { compopt -o nospace 2>/dev/null; true; }
            return
        fi ;;
    ban) opts+=" --for" ;;
    confirm | rollback) opts="--table --help" ;;
    geoip)
        if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "refresh lookup" -- "$cur")); return; fi
        [[ $sub == refresh ]] && opts+=" --force" ;;
    companies)
        if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "sync list show" -- "$cur")); return; fi
        opts+=" --source"
        [[ $sub == sync ]] && opts+=" --force"
        [[ $sub == list || $sub == show ]] && opts+=" --json" ;;
    platform)
        if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "sync" -- "$cur")); return; fi
        opts+=" --force" ;;
    esac
    [[ $cur == -* ]] && COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _ivozfw ivozfw
