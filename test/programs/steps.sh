# A bash loop of builtins only (one process, no fork): integer arithmetic, arrays, strings.
# Waits with `read -t` on stdin, which the caller keeps open and silent.
#   bash steps.sh OUTFILE STEPS STEP_MS
out=$1 steps=$2 ms=$3
exec 3>>"$out"
x=1
declare -a hist
declare -A seen
for ((s = 0; s < steps; s++)); do
  x=$(( (x * 1103515245 + 12345) % 2147483648 ))
  hist+=("$x")
  seen[k$s]=$(( x % 97 ))
  sum=0
  for v in "${seen[@]}"; do sum=$(( sum + v )); done
  printf 'step %d x %d sum %d n %d first %s\n' "$s" "$x" "$sum" "${#hist[@]}" "${hist[0]}" >&3
  read -r -t "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))" _ || true
done
echo done >&3
echo "steps.sh finished $steps steps"
