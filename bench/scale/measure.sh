# Sourced by the scale benches. measure LABEL COMMAND...: runs the command
# under /usr/bin/time -v (output in $dir/LABEL.out), prints
# "LABEL: S s, peak RSS R MB" and appends "LABEL S R" to $summary.
measure() {
    local label=$1; shift
    /usr/bin/time -v "$@" > "$dir/$label.out" 2> "$dir/$label.time" || { cat "$dir/$label.time"; exit 1; }
    local s rss
    s=$(grep "Elapsed (wall clock)" "$dir/$label.time" | awk '{print $NF}' | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    rss=$(grep "Maximum resident" "$dir/$label.time" | awk '{print $NF}')
    echo "$label: $s s, peak RSS $((rss / 1024)) MB"
    summary+="$label $s $((rss / 1024))"$'\n'
}
