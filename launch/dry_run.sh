# Sourced by the launch scripts: their --dry-run. With DRY_RUN=1, `run CMD ARGS...` and `run_sh "SHELL LINE"`
# print "+ ..." (each word shell-quoted, so a printed line can be pasted) instead of running it.
quote() {  # one shell word, readable: bare when safe, else in single quotes
  case "$1" in
    *[!A-Za-z0-9_./:=@,+%-]*|'') local s="$1" q="'\\''"; printf "'%s'" "${s//"'"/$q}" ;;
    *) printf '%s' "$1" ;;
  esac
}
run() { if [ "$DRY_RUN" = 1 ]; then printf '+'; for a in "$@"; do printf ' '; quote "$a"; done; printf '\n'; else "$@"; fi; }
run_sh() { if [ "$DRY_RUN" = 1 ]; then printf '+ %s\n' "$1"; else bash -o pipefail -c "$1"; fi; }
